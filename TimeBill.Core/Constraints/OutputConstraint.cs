using System.Runtime.CompilerServices;
using System.Text.Json;
using TimeBill.Core.Generation;
using TimeBill.Core.Tokenization;

namespace TimeBill.Core.Constraints;

/// <summary>
/// What a response must be: a value of a JSON Schema, any JSON object, or one of given strings, as a
/// <see cref="ByteAutomaton"/> over its UTF-8 bytes. JSON is compact: no whitespace outside strings, object
/// properties in the schema's order (see <see cref="JsonSchema(string)"/>). It is lifted to a vocabulary once and the
/// result kept as long as both live; <see cref="CreateProcessor"/> gives the logits processor that applies it.
/// </summary>
public sealed class OutputConstraint
{
    private readonly ConditionalWeakTable<TokenVocabulary, TokenLevelAutomaton> _lifted = [];

    private OutputConstraint(ByteAutomaton automaton, string description)
    {
        Automaton = automaton;
        Description = description;
    }

    /// <summary>The character-level automaton.</summary>
    internal ByteAutomaton Automaton { get; }

    /// <summary>What it constrains to, in words.</summary>
    public string Description { get; }

    /// <summary>
    /// Values of a JSON Schema, written as compact JSON. The subset: <c>type</c> (a name or a list), <c>enum</c>,
    /// <c>const</c>, <c>anyOf</c>; objects with <c>properties</c> (written in the schema's order; those not in
    /// <c>required</c> may be left out), <c>required</c>, <c>additionalProperties</c> false or absent (no other
    /// properties are written either way); strings without <c>pattern</c>; integers and numbers with
    /// <c>minimum</c>/<c>maximum</c> (a bounded number is an integer or I.F with every I.F in range, never an
    /// exponent form); booleans; null; arrays with <c>items</c>, <c>minItems</c>, <c>maxItems</c>; any nesting.
    /// </summary>
    /// <exception cref="ArgumentException">Not JSON, an invalid schema, or an unsupported keyword, naming it and its JSON path.</exception>
    public static OutputConstraint JsonSchema(string schemaJson)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        JsonDocument document;
        try { document = JsonDocument.Parse(schemaJson); }
        catch (JsonException e) { throw new ArgumentException($"the JSON schema is not valid JSON: {e.Message}", nameof(schemaJson), e); }
        using (document) return JsonSchema(document.RootElement);
    }

    /// <inheritdoc cref="JsonSchema(string)"/>
    public static OutputConstraint JsonSchema(JsonElement schema) => new(JsonSchemaCompiler.Compile(schema), "JSON schema");

    /// <summary>Any JSON object (compact) with containers nested at most <paramref name="maxDepth"/> deep, the object itself included.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxDepth"/> below 1.</exception>
    public static OutputConstraint JsonObject(int maxDepth = 3) => new(JsonSchemaCompiler.AnyObject(maxDepth), $"JSON object (depth ≤ {maxDepth})");

    /// <summary>Exactly one of <paramref name="choices"/>, as written.</summary>
    /// <exception cref="ArgumentException">No choices, or a null one.</exception>
    public static OutputConstraint OneOf(IEnumerable<string> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        var list = choices.ToArray();
        if (list.Length == 0) throw new ArgumentException("give at least one choice.", nameof(choices));
        if (list.Any(c => c is null)) throw new ArgumentException("a choice is null.", nameof(choices));
        return new(JsonSchemaCompiler.OneOf(list), $"one of {list.Length} strings");
    }

    /// <summary>
    /// Answers that call <paramref name="tools"/> in the <see cref="ToolCallGrammar"/> form
    /// (<c>&lt;tool_call&gt;\n{"name": NAME, "arguments": {...}}\n&lt;/tool_call&gt;</c>, the arguments a value of the
    /// tool's parameter schema): with <see cref="ToolCallMode.Required"/> the answer is only calls; with
    /// <see cref="ToolCallMode.Auto"/> free text, and once it writes the opening tag the rest is constrained. With
    /// <paramref name="multiple"/>, more calls may follow the first, one per line; the calls end the answer.
    /// </summary>
    /// <exception cref="ArgumentException">No tools, a nameless or repeated tool, or a parameter schema outside the subset, naming the tool and the keyword.</exception>
    public static OutputConstraint ToolCalls(IEnumerable<ToolDeclaration> tools, ToolCallMode mode = ToolCallMode.Required, bool multiple = false)
    {
        ArgumentNullException.ThrowIfNull(tools);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "not a tool-call mode.");
        var list = tools.ToArray();
        return new(ToolCallGrammar.Compile(list, mode, multiple),
            $"{(mode == ToolCallMode.Required ? "" : "text or ")}{(multiple ? "calls" : "a call")} of {string.Join(", ", list.Select(t => t?.Name))}");
    }

    /// <summary>
    /// The logits processor that keeps one generation's response inside this constraint, over <paramref name="tokenizer"/>'s
    /// tokens: put it last in <see cref="GenerationOptions.LogitsProcessors"/>. It follows one job at a time.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="endTokenIds">The ids that end a response (e.g. <see cref="GenerationEngine.DefaultStopTokenIds"/>); they are allowed only once the answer is complete.</param>
    /// <param name="maxTokens">The response's token cap, so that the answer is closed in time for it; null for none.</param>
    /// <exception cref="ArgumentException">No end tokens, a cap below 1, or no token sequence of the vocabulary is a complete answer.</exception>
    public ILogitsProcessor CreateProcessor(TextTokenizer tokenizer, IEnumerable<int> endTokenIds, int? maxTokens = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new ConstrainedDecoding(For(tokenizer), endTokenIds, maxTokens);
    }

    /// <summary>This constraint over <paramref name="vocabulary"/>'s tokens, built on the first call and reused.</summary>
    /// <exception cref="ArgumentException">No token sequence of the vocabulary is a complete answer.</exception>
    internal TokenLevelAutomaton For(TokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return _lifted.GetValue(vocabulary, v => new TokenLevelAutomaton(Automaton, v));
    }

    /// <summary>This constraint over <paramref name="tokenizer"/>'s tokens (<see cref="TokenVocabulary.For"/>).</summary>
    internal TokenLevelAutomaton For(TextTokenizer tokenizer) => For(TokenVocabulary.For(tokenizer));
}
