using System.Text.Json;
using System.Text.Json.Nodes;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Tokenization;
using TimeBill.Templates;

namespace TimeBill.Core.ChatTemplates;

/// <summary>
/// A model's chat template: the Jinja template that turns a conversation into the prompt text the model was trained
/// on, rendered as transformers' <c>apply_chat_template</c> renders it (<c>trim_blocks</c> and <c>lstrip_blocks</c>
/// on, <c>tools</c> and <c>documents</c> none when absent, the tokenizer's special tokens as variables,
/// <c>raise_exception</c> and <c>strftime_now</c> available). Every template is parsed when loaded, so a template this
/// interpreter cannot run fails then, not while rendering.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The template used when no name is asked for.</summary>
    public const string DefaultName = "default";

    /// <summary>The template used when tools are given, if the model has one by that name.</summary>
    public const string ToolUseName = "tool_use";

    /// <summary>The special-token fields of <c>tokenizer_config.json</c> that templates receive as variables.</summary>
    private static readonly string[] SpecialTokenFields = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    private static readonly HashSet<string> ReservedVariables = ["messages", "tools", "documents", "add_generation_prompt"];

    private readonly Dictionary<string, JinjaTemplate> _templates;

    /// <summary>
    /// A chat template from its text, as a GGUF file's <c>tokenizer.chat_template</c> holds it.
    /// <paramref name="source"/> names where it came from in errors.
    /// </summary>
    /// <exception cref="ModelLoadException">The template does not parse, or uses a construct that is not supported.</exception>
    public ChatTemplate(string template, IReadOnlyDictionary<string, string>? specialTokens = null, string source = "chat template", TimeProvider? clock = null)
        : this(new Dictionary<string, string> { [DefaultName] = template }, specialTokens, source, clock)
    {
    }

    /// <summary>Several named chat templates (as <c>tokenizer_config.json</c> may list them), one usually named <see cref="DefaultName"/>.</summary>
    /// <exception cref="ModelLoadException">A template does not parse, or uses a construct that is not supported.</exception>
    public ChatTemplate(IReadOnlyDictionary<string, string> templates, IReadOnlyDictionary<string, string>? specialTokens = null, string source = "chat template", TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(source);
        if (templates.Count == 0) throw new ArgumentException("at least one template is needed.", nameof(templates));
        Source = source;
        SpecialTokens = new Dictionary<string, string>(specialTokens ?? new Dictionary<string, string>());
        var options = JinjaOptions.ChatTemplate with { Clock = clock ?? TimeProvider.System };
        _templates = [];
        foreach (var (name, text) in templates)
        {
            ArgumentNullException.ThrowIfNull(text);
            try { _templates[name] = JinjaTemplate.Parse(text, options); }
            catch (TemplateSyntaxException e)
            {
                string which = templates.Count == 1 ? "chat_template" : $"chat_template '{name}'";
                throw new ModelLoadException(source, $"{which} cannot be used: {e.Message}", e);
            }
        }
    }

    /// <summary>Where the template came from (the <c>tokenizer_config.json</c> path, or the source given).</summary>
    public string Source { get; }

    /// <summary>The names of the templates; a single template is named <see cref="DefaultName"/>.</summary>
    public IReadOnlyCollection<string> Names => _templates.Keys;

    /// <summary>The special tokens templates receive as variables (<c>bos_token</c>, <c>eos_token</c>, ...); those the tokenizer lacks are absent.</summary>
    public IReadOnlyDictionary<string, string> SpecialTokens { get; }

    /// <summary>
    /// Reads the chat template of a model folder: <c>chat_template.jinja</c> if there is one (transformers prefers it),
    /// else <c>chat_template</c> of <c>tokenizer_config.json</c> (a string, or a list of <c>{name, template}</c>); and the
    /// special tokens of <c>tokenizer_config.json</c> (strings, null, or <c>{"content": ...}</c> objects).
    /// </summary>
    /// <exception cref="ModelLoadException">No template, a malformed field, or a template that does not parse, naming the file.</exception>
    public static ChatTemplate Load(string modelFolder, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        string configPath = Path.Combine(modelFolder, "tokenizer_config.json");
        string jinjaPath = Path.Combine(modelFolder, "chat_template.jinja");
        using var config = JsonFile.Read(configPath);
        var specialTokens = ReadSpecialTokens(config.RootElement, configPath);
        if (File.Exists(jinjaPath)) return new ChatTemplate(File.ReadAllText(jinjaPath), specialTokens, jinjaPath, clock);
        var templates = config.RootElement.Optional("chat_template") switch
        {
            null => throw new ModelLoadException(configPath, "there is no chat_template (and no chat_template.jinja beside it)."),
            { ValueKind: JsonValueKind.String } s => new Dictionary<string, string> { [DefaultName] = s.GetString()! },
            { ValueKind: JsonValueKind.Array } a => ReadNamedTemplates(a, configPath),
            _ => throw new ModelLoadException(configPath, "chat_template must be a string or a list of {\"name\", \"template\"} objects."),
        };
        return new ChatTemplate(templates, specialTokens, configPath, clock);
    }

    /// <summary>
    /// <see cref="Load"/> when the folder has a chat template (<c>chat_template.jinja</c>, or <c>chat_template</c> in
    /// <c>tokenizer_config.json</c>); null when it has none.
    /// </summary>
    /// <exception cref="ModelLoadException">A malformed file or a template that does not parse, naming the file.</exception>
    public static ChatTemplate? LoadIfPresent(string modelFolder, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        string configPath = Path.Combine(modelFolder, "tokenizer_config.json");
        if (File.Exists(Path.Combine(modelFolder, "chat_template.jinja"))) return Load(modelFolder, clock);
        if (!File.Exists(configPath)) return null;
        using (var config = JsonFile.Read(configPath))
            if (config.RootElement.ValueKind != JsonValueKind.Object || config.RootElement.Optional("chat_template") is null) return null;
        return Load(modelFolder, clock);
    }

    private static Dictionary<string, string> ReadNamedTemplates(JsonElement list, string path)
    {
        var templates = new Dictionary<string, string>();
        foreach (JsonElement entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || entry.Optional("name") is not { ValueKind: JsonValueKind.String } name
                || entry.Optional("template") is not { ValueKind: JsonValueKind.String } template)
                throw new ModelLoadException(path, "each entry of the chat_template list must be an object with string fields 'name' and 'template'.");
            if (!templates.TryAdd(name.GetString()!, template.GetString()!))
                throw new ModelLoadException(path, $"chat_template lists the name '{name.GetString()}' twice.");
        }
        if (templates.Count == 0) throw new ModelLoadException(path, "chat_template is an empty list.");
        return templates;
    }

    private static Dictionary<string, string> ReadSpecialTokens(JsonElement config, string path)
    {
        var tokens = new Dictionary<string, string>();
        foreach (string field in SpecialTokenFields)
        {
            string? token = config.Optional(field) switch
            {
                null => null,
                { ValueKind: JsonValueKind.String } s => s.GetString(),
                { ValueKind: JsonValueKind.Object } o when o.Optional("content") is { ValueKind: JsonValueKind.String } content => content.GetString(),
                _ => throw new ModelLoadException(path, $"field '{field}' must be a string, null, or an object with a string 'content'."),
            };
            if (token is not null) tokens[field] = token;
        }
        return tokens;
    }

    /// <summary>Renders <paramref name="messages"/> into the prompt text.</summary>
    /// <exception cref="TemplateRaisedException">The template refused the conversation (<c>raise_exception</c>), with its message.</exception>
    /// <exception cref="TemplateRenderException">The template failed on this input, with the template line.</exception>
    /// <exception cref="ArgumentException">An unknown <see cref="ChatTemplateOptions.TemplateName"/>, or a reserved or unconvertible variable.</exception>
    public string Render(IEnumerable<ChatTemplateMessage> messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return Render(new JsonArray([.. messages.Select(m => (JsonNode)m.ToJson())]), options);
    }

    /// <summary>
    /// Renders messages given as JSON (role/content objects, as transformers takes them); every field of a message
    /// reaches the template, so a template can read fields <see cref="ChatTemplateMessage"/> does not have.
    /// </summary>
    /// <inheritdoc cref="Render(IEnumerable{ChatTemplateMessage}, ChatTemplateOptions)" path="/exception"/>
    public string Render(JsonArray messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= new ChatTemplateOptions();
        var variables = new Dictionary<string, object?>();
        foreach (var (name, token) in SpecialTokens) variables[name] = token;
        foreach (var (name, value) in options.Variables ?? new Dictionary<string, object?>())
        {
            if (ReservedVariables.Contains(name))
                throw new ArgumentException($"the variable '{name}' is set by ChatTemplateOptions or the messages, not by Variables.", nameof(options));
            variables[name] = value;
        }
        variables["messages"] = messages;
        variables["tools"] = options.Tools;
        variables["documents"] = options.Documents;
        variables["add_generation_prompt"] = options.AddGenerationPrompt;
        return Select(options).Render(variables);
    }

    /// <summary>Renders <paramref name="messages"/> and encodes the text with <paramref name="tokenizer"/> (no BOS added: the template writes its own).</summary>
    /// <inheritdoc cref="Render(IEnumerable{ChatTemplateMessage}, ChatTemplateOptions)" path="/exception"/>
    public ChatTemplatePrompt RenderAndEncode(TextTokenizer tokenizer, IEnumerable<ChatTemplateMessage> messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        string text = Render(messages, options);
        return new ChatTemplatePrompt(text, tokenizer.Encode(text));
    }

    /// <summary>Renders JSON messages and encodes the text with <paramref name="tokenizer"/>.</summary>
    /// <inheritdoc cref="Render(IEnumerable{ChatTemplateMessage}, ChatTemplateOptions)" path="/exception"/>
    public ChatTemplatePrompt RenderAndEncode(TextTokenizer tokenizer, JsonArray messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        string text = Render(messages, options);
        return new ChatTemplatePrompt(text, tokenizer.Encode(text));
    }

    /// <summary>transformers' choice among named templates: the one asked for, else <c>tool_use</c> when tools are given, else <c>default</c>.</summary>
    private JinjaTemplate Select(ChatTemplateOptions options)
    {
        if (options.TemplateName is string name)
            return _templates.TryGetValue(name, out var named) ? named
                : throw new ArgumentException($"{Source} has no chat template named '{name}' (it has {string.Join(", ", _templates.Keys.Select(k => $"'{k}'"))}).", nameof(options));
        if (options.Tools is not null && _templates.TryGetValue(ToolUseName, out var toolUse)) return toolUse;
        if (_templates.TryGetValue(DefaultName, out var fallback)) return fallback;
        throw new ArgumentException($"{Source} has several chat templates and none named '{DefaultName}'; choose one with ChatTemplateOptions.TemplateName.", nameof(options));
    }
}
