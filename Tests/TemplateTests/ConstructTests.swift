import Template
import Testing

/// One construct, one small template, its exact jinja2 output (checked against Python jinja2 set up as
/// transformers does; scripts/check-template-cases.py re-checks them).
struct Case: CustomTestStringConvertible, Sendable {
    let source: String
    let expected: String
    init(_ source: String, _ expected: String) {
        self.source = source
        self.expected = expected
    }

    var testDescription: String { source }
}

/// The variables every case sees.
let sharedContext: [String: TemplateValue] = [
    "items": ["b", "a", "c"],
    "nums": [3, 1, 2],
    "user": ["name": "Ann", "age": 30, "tags": ["x", "y"]],
    "msgs": [["role": "user", "content": "hi"], ["role": "assistant", "content": "yo"], ["role": "user", "content": "bye"]],
    "text": "  Hello World  ",
    "n": 7,
    "f": 2.5,
    "empty": [],
    "nothing": nil,
    "flag": true,
    "tools": [["type": "function", "function": ["name": "get", "description": "Gets ü", "parameters": ["a": 1, "b": [true, nil]]]]],
]

func render(_ source: String) throws -> String {
    try ChatTemplate(source: source).render(sharedContext)
}

@Test(arguments: [
    // Output, literals and operators.
    Case(#"{{ 'a' ~ 1 ~ none ~ true }}"#, #"a1NoneTrue"#),
    Case(#"{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 4 / 2 }}"#, #"7 3 -4 1 2 1024 3.5 2.0"#),
    Case(#"{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 100.0 }} {{ 3 * 1.0 }}"#, #"0.30000000000000004 1e+20 1.5e-07 100.0 3.0"#),
    Case(#"{{ [1, 'a', none, true, 2.0] }} {{ {'k': 'v', 'n': [1]} }} {{ (1, 2) }} {{ ["it's", 'q"'] }}"#, #"[1, 'a', None, True, 2.0] {'k': 'v', 'n': [1]} (1, 2) ["it's", 'q"']"#),
    Case(#"{{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' + 'y' }} {{ -n }} {{ +f }}"#, #"ababab [1, 2] xy -7 2.5"#),
    Case(#"{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'b' >= 'a' }} {{ [1, 2] == [1, 2] }} {{ true == 1 }}"#, #"True True True True True True"#),
    Case(#"{{ 'ell' in 'hello' }} {{ 'z' not in items }} {{ 'name' in user }} {{ 3 in nums }}"#, #"True True True True"#),
    Case(#"{{ flag and 'yes' }} {{ nothing or 'fallback' }} {{ not flag }} {{ empty or 'none' }}"#, #"yes fallback False none"#),
    Case(#"{{ 'a' if flag else 'b' }}{{ 'c' if nothing else 'd' }}[{{ 'e' if nothing }}]"#, #"ad[]"#),
    Case(#"{{ 'a' 'b' }}{{ "\t|\x41\u00e9" }}"#, "ab\t|A\u{e9}"),
    // Lookup and slicing.
    Case(#"{{ user.name }} {{ user['age'] }} {{ msgs[0].content }} {{ msgs[-1]['role'] }} {{ items.1 }}"#, #"Ann 30 hi user a"#),
    Case(#"{{ items[1:] }} {{ items[:-1] }} {{ items[::-1] }} {{ 'hello'[1:4] }} {{ 'hello'[::-1] }} {{ nums[::2] }}"#, #"['a', 'c'] ['b', 'a'] ['c', 'a', 'b'] ell olleh [3, 2]"#),
    Case(#"{{ msgs[1:][0].content }} {{ 'héllo'[1] }} {{ items[10] is defined }}"#, #"yo é False"#),
    // Undefined.
    Case(#"[{{ missing }}] {{ missing is defined }} {{ missing is undefined }} {{ user.nope is defined }} {{ missing | length }}"#, #"[] False True False 0"#),
    Case(#"{{ missing | default('d') }} {{ nothing | default('d') }} {{ '' | default('d', true) }} {{ missing | d('x') }}"#, #"d None d x"#),
    Case(#"{% for x in missing %}no{% else %}empty{% endfor %} {{ missing ~ 'x' }} {{ not missing }}"#, #"empty x True"#),
    // Tests.
    Case(#"{{ nothing is none }} {{ 'a' is string }} {{ n is number }} {{ f is number }} {{ user is mapping }} {{ items is iterable }} {{ items is sequence }}"#, #"True True True True True True True"#),
    Case(#"{{ flag is boolean }} {{ flag is true }} {{ flag is false }} {{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}"#, #"True True False True False True False"#),
    Case(#"{{ 'a' is not string }} {{ n is integer }} {{ f is float }} {{ 'x' is in items }} {{ n is eq 7 }} {{ n is gt(3) }} {{ 'abc' is lower }}"#, #"False True True False True True True"#),
    // Statements.
    Case(#"{% if n > 10 %}big{% elif n > 5 %}mid{% else %}small{% endif %}"#, #"mid"#),
    Case(#"{% for m in msgs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"#, #"1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;"#),
    Case(#"{% for m in msgs %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.content if loop.nextitem is defined else '-' }} {% endfor %}"#, #"->yo user>bye assistant>- "#),
    Case(#"{% for m in msgs if m.role == 'user' %}{{ loop.index }}:{{ m.content }} {% endfor %}"#, #"1:hi 2:bye "#),
    Case(#"{% for x in nums %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"#, #"3"#),
    Case(#"{% for k, v in user.items() %}{{ k }}={{ v }};{% endfor %}"#, #"name=Ann;age=30;tags=['x', 'y'];"#),
    Case(#"{% for a in [[1, 2], [3]] %}{% for b in a %}{{ loop.depth }}{{ b }}{% endfor %}{% endfor %}"#, #"111213"#),
    Case(#"{% for x in nums %}{{ loop.cycle('a', 'b') }}{% endfor %}"#, #"aba"#),
    Case(#"{% for t in [{'n': 'a', 'c': [{'n': 'b', 'c': []}]}, {'n': 'd'}] recursive %}{{ loop.depth }}{{ t.n }}{% if t.c %}[{{ loop(t.c) }}]{% endif %}{% endfor %}"#, #"1a[2b]1d"#),
    Case(#"{% for x in [] %}a{% else %}b{% endfor %}{% for x in nums if x > 5 %}a{% else %}none{% endfor %}"#, #"bnone"#),
    Case(#"{% set x = 1 %}{% macro show() %}{{ x }}{% endmacro %}{% set x = 2 %}{% for x in [9] %}{{ show() }}{% endfor %}"#, #"2"#),
    Case(#"{% for i in range(3) %}{% if i == 1 %}{% set y = 5 %}{% endif %}{{ y }},{% endfor %}"#, #",5,,"#),
    Case(#"{{ {0: 'zero', 4096: 'big'}[4096] }} {{ {1: 'a'} | tojson }} {% for k, v in {2: 'b', 1: 'a'} | dictsort %}{{ k }}{{ v }}{% endfor %}"#, #"big {"1": "a"} 1a2b"#),
    Case(#"{% for c in 'héy' %}{{ c }}.{% endfor %}{% for k in user %}{{ k }},{% endfor %}"#, #"h.é.y.name,age,tags,"#),
    Case(#"{% set x = 1 %}{% for i in nums %}{% set x = i %}{% endfor %}{{ x }}"#, #"1"#),
    Case(#"{% set ns = namespace(x=1, found=false) %}{% for i in nums %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }} {{ ns.found }}"#, #"7 False"#),
    Case(#"{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c[1] }}"#, #"124"#),
    Case(#"{% set block %}Hi {{ user.name }}{% endset %}[{{ block }}]{% set up | upper %}x{% endset %}{{ up }}"#, #"[Hi Ann]X"#),
    Case(#"{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }} {{ greet('Cy', punct='?') }} {{ greet(punct='.', name='Di') }}"#, #"Hello Bo! Hello Cy? Hello Di."#),
    Case(#"{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %}"#, #"<b>bold 7</b>"#),
    Case(#"{% macro row(x) %}[{{ x }}{{ caller(x * 2) }}]{% endmacro %}{% call(y) row(2) %}:{{ y }}{% endcall %}"#, #"[2:4]"#),
    Case(#"{% filter upper %}shout {{ user.name }}{% endfilter %}"#, #"SHOUT ANN"#),
    Case(#"{% generation %}gen {{ n }}{% endgeneration %}"#, #"gen 7"#),
    Case(#"a{# a comment #}b{% raw %}{{ not parsed }}{% endraw %}"#, #"ab{{ not parsed }}"#),
    Case(#"{{ dict(a=1, b='x') }} {{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}"#, #"{'a': 1, 'b': 'x'} [0, 1, 2] [1, 3, 5] [3, 2, 1]"#),
    Case(#"{% for g in msgs | groupby('role') %}{{ g.grouper }}={{ g.list | length }};{% endfor %}{% for k, v in [{'c': 'B'}, {'c': 'b'}, {'c': 'a'}] | groupby('c') %}{{ k }}{{ v | length }}{% endfor %}"#, #"assistant=1;user=2;a1B2"#),
    Case(#"{{ user | attr('name') }}|{{ user.items() }}|{{ user.keys() | length }}|{{ namespace(a=1) }}|{{ user.values() | first }}"#, #"|dict_items([('name', 'Ann'), ('age', 30), ('tags', ['x', 'y'])])|3|<Namespace {'a': 1}>|Ann"#),
    // jinja2 normalises newlines in the template and drops one trailing newline.
    Case("a\r\nb\rc\n", "a\nb\nc"),
    Case("{{ 'x' }}\n\n", "x\n"),
    // Whitespace control, trim_blocks and lstrip_blocks.
    Case("{% if true %}\n  yes\n{% endif %}\n", "  yes\n"),
    Case("  {% if true %}\n    x\n  {% endif %}\nend", "    x\nend"),
    Case("a  {{- ' b ' -}}  c\n{%- if true %} d{% endif -%}\n  e", "a b c de"),
    Case("x {%+ if true %}y{% endif %}\nz", "x yz"),
    Case("{{ 'a' }}\n  {% if true %}b{% endif %}", "a\nb"),
    Case("{# c #}\n  {#- c -#}\nq", "q"),
    // String methods.
    Case(#"[{{ text.strip() }}][{{ text.lstrip() }}][{{ text.rstrip() }}][{{ 'xxhixx'.strip('x') }}]"#, #"[Hello World][Hello World  ][  Hello World][hi]"#),
    Case(#"{{ text.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a b c'.split(' ', 1) }} {{ 'a-b-c'.rsplit('-', 1) }}"#, #"['Hello', 'World'] ['a', 'b', '', 'c'] ['a', 'b c'] ['a-b', 'c']"#),
    Case(#"{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }} {{ 'Ab'.upper() }}{{ 'Ab'.lower() }}"#, #"True True Hello World Hello ABab"#),
    Case(#"{{ 'aXbXc'.replace('X', '-') }} {{ 'aXbXc'.replace('X', '-', 1) }} {{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }}"#, #"a-b-c a-bXc 2 -1 2"#),
    Case(#"{{ '{} and {}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='Zed') }} {{ '{{literal}}'.format() }}"#, #"a and 1 xyx Zed! {literal}"#),
    Case(#"{{ ', '.join(items) }} {{ 'they\'re bill\'s'.title() }} {{ 'ab' ~ 'a\nb'.splitlines() | length }}"#, #"b, a, c They'Re Bill'S ab2"#),
    // Dict methods.
    Case(#"{{ user.keys() | list }} {{ user.values() | list | length }} {{ user.get('name') }} {{ user.get('zip', 'none') }} {{ user.get('zip') }}"#, #"['name', 'age', 'tags'] 3 Ann none None"#),
    // Filters.
    Case(#"{{ items | length }} {{ items | count }} {{ items | first }} {{ items | last }} {{ items | join('-') }} {{ nums | join }}"#, #"3 3 b c b-a-c 312"#),
    Case(#"[{{ text | trim }}] {{ 'ab' | upper }} {{ 'AB' | lower }} {{ 'hELLO wORLD' | capitalize }} {{ 'hello-world foo' | title }}"#, #"[Hello World] AB ab Hello world Hello-World Foo"#),
    Case(#"{{ 'aaa' | replace('a', 'b', 2) }} {{ 12 | string ~ 3 }} {{ '42' | int + 1 }} {{ '3.9' | int }} {{ 'x' | int }} {{ '2.5' | float }} {{ 3 | float }}"#, #"bba 123 43 3 0 2.5 3.0"#),
    Case(#"{{ 'abc' | list }} {{ nums | sort }} {{ items | sort(reverse=true) }} {{ nums | reverse | list }} {{ 'abc' | reverse }}"#, #"['a', 'b', 'c'] [1, 2, 3] ['c', 'b', 'a'] [2, 1, 3] cba"#),
    Case(#"{{ msgs | map(attribute='role') | list }} {{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ msgs | rejectattr('role', 'eq', 'user') | list | length }}"#, #"['user', 'assistant', 'user'] hi,bye 1"#),
    Case(#"{{ nums | select('odd') | list }} {{ nums | reject('odd') | list }} {{ [0, 1, '', 'a'] | select | list }} {{ items | map('upper') | list }}"#, #"[3, 1] [2] [1, 'a'] ['B', 'A', 'C']"#),
    Case(#"{{ user | items | list }} {{ user | dictsort | first }} {{ ['a', 'B', 'a', 'b'] | unique | list }} {{ [-3, 2.5] | map('abs') | list }}"#, #"[('name', 'Ann'), ('age', 30), ('tags', ['x', 'y'])] ('age', 30) ['a', 'B'] [3, 2.5]"#),
    Case(#"{{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ 5 | round }}"#, #"2.57 2.0 4.0 3.0 2.0 5"#),
    Case(#"{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent('> ', blank=true) }}"#, "a\n  b\n\n  c|  a\n  b|a\n> \n> b"),
    Case(#"{{ 'one two, three_3!' | wordcount }} {{ nums | batch(2) | list }} {{ nums | batch(2, 0) | list }} {{ '<b>' | safe }} {{ '<b>' | e }}"#, #"3 [[3, 1], [2]] [[3, 1], [2, 0]] <b> &lt;b&gt;"#),
    Case(#"{{ nums | min }} {{ nums | max }} {{ nums | sum }} {{ msgs | map(attribute='missing', default='?') | join }}"#, #"1 3 6 ???"#),
    // tojson as transformers defines it: json.dumps(ensure_ascii=False), key order kept.
    Case(#"{{ tools | tojson }}"#, #"[{"type": "function", "function": {"name": "get", "description": "Gets ü", "parameters": {"a": 1, "b": [true, null]}}}]"#),
    Case(#"{{ user | tojson(indent=2) }}"#, "{\n  \"name\": \"Ann\",\n  \"age\": 30,\n  \"tags\": [\n    \"x\",\n    \"y\"\n  ]\n}"),
    Case(#"{{ {'b': 1, 'a': 'q"\n'} | tojson(sort_keys=true) }} {{ 'é' | tojson(ensure_ascii=true) }} {{ [1, 2] | tojson(separators=(',', ':')) }} {{ 1.0 | tojson }} {{ empty | tojson(indent=2) }}"#, #"{"a": "q\"\n", "b": 1} "\u00e9" [1,2] 1.0 []"#),
    // Markup: `safe` text concatenated with plain text escapes the plain part, as markupsafe does.
    Case(#"{{ '<'|safe + '<' }} {{ '<' + '<'|safe }} {{ '<' ~ '<'|safe }}"#, #"<&lt; &lt;< <<"#),
    // strftime_now is pinned by the tests to 2026-01-15 12:34:56 UTC.
    Case(#"{{ strftime_now('%Y-%m-%d %H:%M') }} {{ strftime_now('%d %b %Y') }}"#, #"2026-01-15 12:34 15 Jan 2026"#),
])
func construct(_ c: Case) throws {
    var template = try ChatTemplate(source: c.source)
    template.pinnedTime = 1_768_480_496
    #expect(try template.render(sharedContext) == c.expected)
}
