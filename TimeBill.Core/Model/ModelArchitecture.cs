namespace TimeBill.Core.Model;

/// <summary>The decoder-only architectures this library runs.</summary>
public enum ModelArchitecture
{
    /// <summary>Hugging Face <c>LlamaForCausalLM</c> (Llama 2/3, SmolLM2, TinyStories models).</summary>
    Llama,

    /// <summary>Hugging Face <c>Qwen2ForCausalLM</c>: Llama with biases on the q/k/v projections.</summary>
    Qwen2,

    /// <summary>Hugging Face <c>Qwen3ForCausalLM</c>: Llama with a per-head RMSNorm on queries and keys before the rotation.</summary>
    Qwen3,

    /// <summary>Hugging Face <c>MistralForCausalLM</c>: Llama with sliding-window attention.</summary>
    Mistral,
}
