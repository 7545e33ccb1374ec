import GGUF
import Kernels
import Testing

@Suite struct BlockLayoutTests {
    @Test(arguments: Reference.blockTypes)
    func cStructSizeMatchesGGML(_ type: GGMLType) {
        #expect(BlockLayout.size(of: type) == type.typeSize)
    }

    @Test func blockSizes() {
        for t: GGMLType in [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1] { #expect(t.blockSize == 32) }
        for t: GGMLType in [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K] { #expect(t.blockSize == 256) }
    }

    @Test(arguments: [GGMLType.iq2_xxs, .iq4_nl, .iq4_xs, .tq1_0, .tq2_0, .mxfp4, .i32])
    func unsupportedTypeNamesTensorAndType(_ type: GGMLType) {
        let bytes = [UInt8](repeating: 0, count: 1024)
        bytes.withUnsafeBytes { raw in
            #expect(throws: KernelsError.unsupportedType(tensor: "blk.3.ffn_up.weight", type: type)) {
                _ = try WeightMatrix(name: "blk.3.ffn_up.weight", type: type, data: raw.baseAddress!, rows: 2, cols: 256)
            }
            do {
                _ = try WeightMatrix(name: "blk.3.ffn_up.weight", type: type, data: raw.baseAddress!, rows: 2, cols: 256)
            } catch let error as KernelsError {
                #expect(error.description.contains("blk.3.ffn_up.weight"))
                #expect(error.description.contains(type.name))
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func rowsMustHoldWholeBlocks() {
        let bytes = [UInt8](repeating: 0, count: 1024)
        bytes.withUnsafeBytes { raw -> Void in
            #expect(throws: KernelsError.badShape(tensor: "w", rows: 2, cols: 100, type: .q4_K)) {
                _ = try WeightMatrix(name: "w", type: .q4_K, data: raw.baseAddress!, rows: 2, cols: 100)
            }
        }
    }
}
