using System.Text.Json.Nodes;

namespace TimeBill.Core.ChatTemplates;

/// <summary>What a chat template renders besides the messages, as transformers' <c>apply_chat_template</c> passes it.</summary>
public sealed record ChatTemplateOptions
{
    /// <summary>End with the cue that starts the assistant's reply (<c>add_generation_prompt</c>).</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary>
    /// The tools the model may call, as JSON-schema function specs
    /// (<c>{"type": "function", "function": {"name", "description", "parameters"}}</c>); null passes none.
    /// </summary>
    public JsonArray? Tools { get; init; }

    /// <summary>Documents for retrieval-augmented templates (<c>documents</c>); null passes none.</summary>
    public JsonArray? Documents { get; init; }

    /// <summary>
    /// Further template variables, such as Qwen3's <c>enable_thinking</c> or Llama's <c>date_string</c>: JSON, strings,
    /// numbers, bools, null, dictionaries or lists. They override the special tokens of the same name; <c>messages</c>,
    /// <c>tools</c>, <c>documents</c> and <c>add_generation_prompt</c> are set by the other options and refused here.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }

    /// <summary>
    /// Which of several named templates to use; null picks <c>tool_use</c> when <see cref="Tools"/> is given and
    /// there is one, else <c>default</c>.
    /// </summary>
    public string? TemplateName { get; init; }
}
