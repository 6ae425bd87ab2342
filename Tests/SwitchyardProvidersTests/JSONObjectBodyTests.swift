import SwitchyardCore
import SwitchyardProviders
import Testing

@Suite struct JSONObjectBodyTests {
    @Test func rewritesOnlyTheNamedMembers() throws {
        let text = #"{ "model" : "openai/gpt-4o", "messages":[{"role":"user","content":"hi \"there\" \u00e9"}], "temperature": 0.5e0 }"#
        let body = try JSONObjectBody(bytes: Array(text.utf8))
        #expect(body.value("model") == .string("openai/gpt-4o"))
        let out = String(decoding: body.rewritten(setting: [("model", JSONValue.string("gpt-4o").canonicalJSON), ("max_tokens", "10")]), as: UTF8.self)
        #expect(out == #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi \"there\" \u00e9"}],"temperature":0.5e0,"max_tokens":10}"#)
    }

    @Test(arguments: [
        "", "[]", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":tru}", "{\"a\":01}", "{\"a\":\"x}", "{\"a\":1} x", "{a:1}", "{\"a\":[1 2]}",
        "{\"a\":\"\\q\"}", "{\"a\":-}", "{\"a\":1.}",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONObjectBody.SyntaxError.self) { try JSONObjectBody(bytes: Array(text.utf8)) }
    }

    @Test func acceptsValidJSON() throws {
        let text = #"{"a":[true,false,null,-1.5E+3,{"b":{}}],"c\u0041":"\ud83d\ude00","d":[]}"#
        let body = try JSONObjectBody(bytes: Array(text.utf8))
        #expect(body.members.map(\.key) == ["a", "cA", "d"])
    }

    @Test func escapesWrittenStrings() {
        #expect(JSONValue.string("a\"b\\c\n\u{01}").canonicalJSON == #""a\"b\\c\n\u0001""#)
    }
}
