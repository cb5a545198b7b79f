using System.Text;

namespace TimeBill.Core.Constraints;

/// <summary>
/// The Hermes / Qwen tool-call form as a byte automaton, built from the JSON Schema pieces:
/// <c>&lt;tool_call&gt;\n{"name": NAME, "arguments": ARGUMENTS}\n&lt;/tool_call&gt;</c>, an alternation over the tools, each
/// with its name fixed and its arguments a value of its parameter schema (compact JSON). Several calls are separated by
/// one newline. In <see cref="ToolCallMode.Auto"/> the answer starts as free text (well-formed UTF-8, no control
/// characters but tab and newlines) in which the opening tag can only begin a call; the calls end the answer.
/// </summary>
internal static class ToolCallGrammar
{
    /// <summary>The tag that opens a call.</summary>
    public const string Open = "<tool_call>";

    /// <summary>The tag that closes a call.</summary>
    public const string Close = "</tool_call>";

    /// <summary>The automaton of answers that call <paramref name="tools"/> as <paramref name="mode"/> says.</summary>
    /// <exception cref="ArgumentException">No tools, a nameless or repeated tool, or a parameter schema that is not an object schema of the subset, naming the tool and the keyword.</exception>
    internal static ByteAutomaton Compile(IReadOnlyList<ToolDeclaration> tools, ToolCallMode mode, bool multiple)
    {
        if (tools.Count == 0) throw new ArgumentException("give at least one tool.", nameof(tools));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (tool is null || string.IsNullOrEmpty(tool.Name)) throw new ArgumentException("a tool has no name.", nameof(tools));
            if (!names.Add(tool.Name)) throw new ArgumentException($"the tool name '{tool.Name}' is given twice.", nameof(tools));
        }
        var b = new ByteAutomatonBuilder();
        var compiler = new JsonSchemaCompiler(b);
        int start = b.State(), end = b.State();
        int Call(int from)
        {
            int body = b.Literal(from, "\n"u8);
            int done = b.Either(body, tools.Select(tool => (Func<int, int>)(s => Arguments(b, compiler, b.Literal(s, Prefix(tool.Name)), tool))));
            return b.Literal(done, Encoding.UTF8.GetBytes("}\n" + Close));
        }
        int first = mode == ToolCallMode.Required ? Call(b.Literal(start, Encoding.UTF8.GetBytes(Open))) : Call(Text(b, start, end));
        int last = multiple ? b.Repeat(first, s => Call(b.Literal(s, Encoding.UTF8.GetBytes("\n" + Open)))) : first;
        b.Epsilon(last, end);
        try { return b.Build(start, end); }
        catch (ArgumentException e) { throw new ArgumentException($"tool calls: {e.Message}", nameof(tools), e); }
    }

    // {"name": "NAME", "arguments":   (the spacing Qwen's template shows the model)
    private static byte[] Prefix(string name) =>
        [.. "{\"name\": "u8, .. JsonSchemaCompiler.StringLiteral(name), .. ", \"arguments\": "u8];

    private static int Arguments(ByteAutomatonBuilder b, JsonSchemaCompiler compiler, int from, ToolDeclaration tool)
    {
        var schema = tool.Parameters;
        if (schema.ValueKind != System.Text.Json.JsonValueKind.Object || !schema.TryGetProperty("type", out var type)
            || type.ValueKind != System.Text.Json.JsonValueKind.String || type.GetString() != "object")
            throw new ArgumentException($"tool '{tool.Name}': its parameter schema must be an object schema (\"type\": \"object\").", nameof(tool));
        try { return compiler.Value(from, schema, "$"); }
        catch (ArgumentException e) { throw new ArgumentException($"tool '{tool.Name}': {e.Message}", nameof(tool), e); }
    }

    /// <summary>
    /// Free text from <paramref name="from"/>, accepted at <paramref name="accept"/> wherever a character ends, in which
    /// the opening tag cannot occur except as the start of a call: the states remember how much of the tag the text
    /// ends with (as in Knuth–Morris–Pratt), and completing it leads to the returned state, where the call goes on.
    /// </summary>
    private static int Text(ByteAutomatonBuilder b, int from, int accept)
    {
        byte[] tag = Encoding.UTF8.GetBytes(Open);
        var matched = new int[tag.Length];
        matched[0] = from;
        for (int k = 1; k < tag.Length; k++) matched[k] = b.State();
        int opened = b.State(), character = b.State();
        b.Utf8Character(character, matched[0]);
        for (int k = 0; k < tag.Length; k++)
        {
            b.Epsilon(matched[k], accept);
            b.Epsilon(matched[k], character);
            for (int c = 0; c < 0x7F; c++)
            {
                if (c < 0x20 && c is not ('\t' or '\n' or '\r')) continue;
                int to = c == tag[k] ? (k + 1 == tag.Length ? opened : matched[k + 1]) : matched[Fallback(tag, k, (byte)c)];
                b.Range(matched[k], (byte)c, (byte)c, to);
            }
        }
        return opened;
    }

    /// <summary>The longest prefix of <paramref name="tag"/> that ends the text "tag[..k] + c" (c not tag[k]).</summary>
    private static int Fallback(byte[] tag, int k, byte c)
    {
        byte[] text = [.. tag.AsSpan(0, k), c];
        for (int j = Math.Min(k, tag.Length - 1); j > 0; j--)
            if (text.AsSpan(text.Length - j).SequenceEqual(tag.AsSpan(0, j))) return j;
        return 0;
    }
}
