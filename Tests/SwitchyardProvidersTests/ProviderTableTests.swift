import SwitchyardCore
import SwitchyardProviders
import Testing

@Suite struct ProviderTableTests {
    @Test func keysComeFromTheConventionalVariablesUnlessConfigured() {
        let table = ProviderTable(
            settings: ["groq": ProviderSettings(keys: ["default": "from-config"])],
            environment: ["OPENAI_API_KEY": "sk-env", "GROQ_API_KEY": "gsk-env", "GOOGLE_API_KEY": "AIza-second", "XAI_API_KEY": ""]
        )
        #expect(table.provider(slug: "openai")?.keys == ["default": "sk-env"])
        #expect(table.provider(slug: "groq")?.keys == ["default": "from-config"])
        #expect(table.provider(slug: "google-ai-studio")?.keys == ["default": "AIza-second"])
        #expect(table.provider(slug: "grok")?.keys == [:])
        #expect(table.provider(slug: "anthropic")?.keys == [:])
    }

    @Test func workersAIAccountAndPathSlugs() {
        let without = ProviderTable(settings: [:], environment: [:])
        #expect(without.provider(slug: "workers-ai")?.configurationProblem?.contains("CLOUDFLARE_ACCOUNT_ID") == true)
        let with = ProviderTable(settings: [:], environment: ["CLOUDFLARE_ACCOUNT_ID": "acc123", "CLOUDFLARE_API_TOKEN": "cf"])
        #expect(with.provider(slug: "workers-ai")?.baseURL == "https://api.cloudflare.com/client/v4/accounts/acc123/ai")
        #expect(with.provider(slug: "workers-ai")?.configurationProblem == nil)
        #expect(with.provider(pathSlug: "perplexity-ai")?.slug == "perplexity")
        #expect(with.provider(slug: "perplexity")?.pathSlug == "perplexity-ai")
    }

    @Test func customProviders() {
        let table = ProviderTable(settings: ["my-vllm": ProviderSettings(kind: .openAICompatible, baseURL: "http://10.0.0.5:8000/v1/")], environment: [:])
        let p = table.provider(slug: "my-vllm")
        #expect(p?.isCustom == true && p?.requiresKey == false)
        #expect(p?.baseURL == "http://10.0.0.5:8000/v1")
        #expect(table.provider(slug: "custom-my-vllm")?.slug == "my-vllm")
        #expect(table.provider(pathSlug: "custom-my-vllm")?.slug == "my-vllm")
    }

    @Test func headerPolicy() {
        for name in ["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-foo", "host", "content-length", "cf-aig-authorization", "cf-aig-metadata", "cf-skip-cache"] {
            #expect(!HeaderPolicy.forwardsRequestHeader(name), "\(name)")
        }
        for name in ["x-fake-status", "openai-organization", "anthropic-version", "user-agent", "accept"] {
            #expect(HeaderPolicy.forwardsRequestHeader(name), "\(name)")
        }
        #expect(!HeaderPolicy.forwardsRequestHeader("x-secret-hop", connectionListed: HeaderPolicy.connectionTokens("keep-alive, X-Secret-Hop")))
    }
}
