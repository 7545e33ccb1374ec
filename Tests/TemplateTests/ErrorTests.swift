import Template
import Testing

/// Errors carry the template's own message and a 1-based line and column; nothing falls back silently.
@Suite struct ErrorTests {
    func error(_ source: String, _ context: [String: TemplateValue] = [:]) -> TemplateError? {
        do {
            _ = try ChatTemplate(source: source).render(context)
            return nil
        } catch {
            return error
        }
    }

    @Test func raiseExceptionCarriesTheTemplatesMessageAndPosition() {
        let source = "line one\n{% if messages | length == 0 %}\n  {{ raise_exception('No messages given!') }}\n{% endif %}"
        #expect(error(source, ["messages": []]) == .raised(message: "No messages given!", line: 3, column: 6))
        #expect(error(source, ["messages": ["x"]]) == nil)
    }

    @Test func raisedErrorDescriptionIsActionable() throws {
        let e = try #require(error("{{ raise_exception('System role not supported') }}"))
        #expect(e.description == "the template raised an error at line 1, column 4: System role not supported")
    }

    @Test(arguments: [
        ("{% if x %}never closed", 1, 23),
        ("ok\n{{ 1 + }}", 2, 8),
        ("{% for x in y %}{% endif %}", 1, 17),
        ("{% frobnicate %}", 1, 1),
        ("a\n  {{ x | nosuchfilter }}", 2, 8),
        ("{{ x is nosuchtest }}", 1, 6),
        ("{{ 'unterminated }}", 1, 4),
        ("{% break %}", 1, 1),
        ("{{ x }", 1, 1),
        ("{% set 1 = 2 %}", 1, 8),
    ])
    func syntaxErrorsArePositioned(_ source: String, _ line: Int, _ column: Int) {
        guard case let .syntax(message, l, c)? = error(source) else {
            Issue.record("expected a syntax error for \(source)")
            return
        }
        #expect(!message.isEmpty)
        #expect(l == line && c == column, "\(source): \(message) at \(l):\(c)")
    }

    @Test func unknownFilterInsideIfFailsOnlyWhenRun() {
        // jinja2 defers the check inside `if` blocks; the branch not taken renders fine.
        let source = "{% if flag %}{{ x | from_json }}{% endif %}ok"
        #expect(error(source, ["flag": false]) == nil)
        guard case let .runtime(message, 1, 19)? = error(source, ["flag": true]) else {
            Issue.record("expected a runtime error")
            return
        }
        #expect(message.contains("from_json"))
    }

    @Test(arguments: [
        "{{ missing.attr }}",
        "{{ user.name.first.x }}",
        "{{ 1 + 'a' }}",
        "{{ 'a' - 1 }}",
        "{{ 1 / 0 }}",
        "{{ 5 // 0 }}",
        "{{ [1].append(2) }}",
        "{{ {'a': 1}.update({}) }}",
        "{{ missing() }}",
        "{{ 'x' < 1 }}",
        "{{ undefined_thing | tojson }}",
        "{{ [1, 2] | map('upper') | tojson }}",
        "{{ [1, 2] | select | length }}",
        "{{ 3 | length }}",
        "{% for a, b in [1] %}{% endfor %}",
        "{% set x.y = 1 %}",
        "{{ range(1000000) | length }}",
        "{{ 'a'.nosuchmethod() }}",
        "{{ x if false }}{{ (x if false).y }}",
        "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
    ])
    func runtimeErrorsAreReportedNotSwallowed(_ source: String) {
        let e = error(source, ["user": ["name": "Ann"]])
        guard case .runtime? = e else {
            Issue.record("expected a runtime error for \(source), got \(String(describing: e))")
            return
        }
    }

    @Test func runtimeErrorPointsAtTheExpression() {
        #expect(error("ok\n  {{ user.missing.deeper }}", ["user": [:]])
            == .runtime(message: "'dict object' has no attribute 'missing'", line: 2, column: 18))
    }

    @Test func deeplyNestedInputDoesNotCrash() {
        let deep = String(repeating: "(", count: 150) + "1" + String(repeating: ")", count: 150)
        #expect((try? ChatTemplate(source: "{{ \(deep) }}").render([:])) == "1")
        #expect(error("{{ " + String(repeating: "[", count: 5) + " }}") != nil)
    }

    @Test func hostileNestingAndRecursionAreErrorsNotCrashes() {
        let parens = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        guard case .syntax? = error("{{ \(parens) }}") else { Issue.record("deep expression"); return }
        let blocks = String(repeating: "{% if true %}", count: 5_000) + String(repeating: "{% endif %}", count: 5_000)
        guard case .syntax? = error(blocks) else { Issue.record("deep blocks"); return }
        guard case .runtime? = error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}") else {
            Issue.record("unbounded macro recursion")
            return
        }
        guard case .runtime? = error("{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}") else {
            Issue.record("unbounded loop recursion")
            return
        }
    }
}
