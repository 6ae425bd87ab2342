import Testing

@testable import SwitchyardServer

@Suite struct GatewayPathTests {
    @Test func longAndShortForms() {
        #expect(GatewayPath(path: "/v1/acct/gw/compat/chat/completions") == .compat(account: "acct", gateway: "gw", endpoint: .chatCompletions))
        #expect(GatewayPath(path: "/compat/chat/completions") == .compat(account: nil, gateway: "default", endpoint: .chatCompletions))
        #expect(GatewayPath(path: "/compat/models") == .compat(account: nil, gateway: "default", endpoint: .models))
        #expect(GatewayPath(path: "/v1/a/g/compat/embeddings") == .compat(account: "a", gateway: "g", endpoint: .embeddings))
        #expect(GatewayPath(path: "/healthz") == .healthz)
        #expect(GatewayPath(path: "/v1/a/g/openai/chat/completions") == .passthrough(account: "a", gateway: "g", provider: "openai", rest: "/chat/completions"))
        #expect(GatewayPath(path: "/workers-ai/@cf/meta/llama%2F3") == .passthrough(account: nil, gateway: "default", provider: "workers-ai", rest: "/@cf/meta/llama%2F3"))
        #expect(GatewayPath(path: "/compat/nothing") == .notFound)
        #expect(GatewayPath(path: "/") == .notFound)
        #expect(GatewayPath(path: "/v1/a/g") == .universal(account: "a", gateway: "g"))
        #expect(GatewayPath(path: "/metrics") == .metrics)
    }

    @Test func repeatedV1IsNotDoubled() {
        #expect(PassthroughHandler.join(baseURL: "https://api.openai.com/v1", rest: "/v1/chat/completions") == "/chat/completions")
        #expect(PassthroughHandler.join(baseURL: "https://api.openai.com/v1", rest: "/chat/completions") == "/chat/completions")
        #expect(PassthroughHandler.join(baseURL: "https://api.anthropic.com", rest: "/v1/messages") == "/v1/messages")
    }

    @Test func secretsAreRedactedFromLoggedURIs() {
        #expect(RequestRecord.redact("/google-ai-studio/v1/models/x:generateContent?key=AIza123&alt=sse") == "/google-ai-studio/v1/models/x:generateContent?key=REDACTED&alt=sse")
    }
}

@Suite struct LogIDTests {
    @Test func uuidV7Layout() {
        let id = LogID.make(milliseconds: 0x0190_1234_5678, random: (0xFFFF_FFFF_FFFF_FFFF, 0))
        #expect(id == "01901234-5678-7fff-bfff-ffffffff0000")
    }
}

@Suite struct BearerTests {
    @Test func bearerValues() {
        #expect(ClientAuthentication.bearerValue("Bearer sk-1") == "sk-1")
        #expect(ClientAuthentication.bearerValue("bearer   sk-1 ") == "sk-1")
        #expect(ClientAuthentication.bearerValue("sk-1") == "sk-1")
        #expect(ClientAuthentication.bearerValue("Basic dXNlcjpwYXNz") == nil)
        #expect(ClientAuthentication.bearerValue("Bearer ") == nil)
        #expect(ClientAuthentication.bearerValue("BEARER") == nil)
        #expect(ClientAuthentication.bearerValue("bEaReR x") == "x")
        #expect(ClientAuthentication.bearerValue("\t sk-2\t") == "sk-2")
        #expect(ClientAuthentication.bearerValue("Bearerx y") == nil)
        #expect(ClientAuthentication.bearerValue("Bearer\tsk-3") == "Bearer\tsk-3")
        #expect(ClientAuthentication.bearerValue("") == nil && ClientAuthentication.bearerValue("  ") == nil)
        #expect(ClientAuthentication.bearerValue("Bearer sk-é") == "sk-é")
    }
}
