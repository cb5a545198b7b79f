using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TimeBill.Core.Constraints;

/// <summary>
/// Compiles a subset of JSON Schema to a <see cref="ByteAutomaton"/> over compact JSON (no whitespace outside
/// strings; object properties in the schema's order, optional ones may be left out). Supported: <c>type</c> (one or a
/// list), <c>enum</c>, <c>const</c>, <c>anyOf</c>; objects with <c>properties</c>, <c>required</c> and
/// <c>additionalProperties</c> false (or absent: no other properties are written); strings (any content; escapes
/// <c>\" \\ \/ \b \f \n \r \t</c> and <c>\uXXXX</c> outside the surrogates); integers and numbers with
/// <c>minimum</c>/<c>maximum</c>; booleans; null; arrays with <c>items</c>, <c>minItems</c>, <c>maxItems</c>.
/// Annotations (title, description, default, examples, $schema, $id, $comment) are ignored; any other keyword is an
/// error naming it and its JSON path.
/// </summary>
internal sealed class JsonSchemaCompiler
{
    private static readonly HashSet<string> Annotations = ["title", "description", "default", "examples", "$schema", "$id", "$comment"];
    private static readonly HashSet<string> Types = ["object", "array", "string", "integer", "number", "boolean", "null"];
    private static readonly Dictionary<string, string[]> KeywordTypes = new()
    {
        ["properties"] = ["object"], ["required"] = ["object"], ["additionalProperties"] = ["object"],
        ["items"] = ["array"], ["minItems"] = ["array"], ["maxItems"] = ["array"],
        ["minimum"] = ["integer", "number"], ["maximum"] = ["integer", "number"],
    };
    private const double MaxBound = 1e15; // integers beyond this lose exactness as doubles

    private readonly ByteAutomatonBuilder _b;

    /// <summary>A compiler adding its pieces to <paramref name="builder"/> (a new one when null).</summary>
    internal JsonSchemaCompiler(ByteAutomatonBuilder? builder = null) => _b = builder ?? new ByteAutomatonBuilder();

    /// <summary>The automaton of the values <paramref name="schema"/> admits.</summary>
    /// <exception cref="ArgumentException">An invalid schema or an unsupported keyword, with its JSON path.</exception>
    public static ByteAutomaton Compile(JsonElement schema)
    {
        var compiler = new JsonSchemaCompiler();
        int start = compiler._b.State();
        int end = compiler.Value(start, schema, "$");
        try { return compiler._b.Build(start, end); }
        catch (ArgumentException e) { throw new ArgumentException($"schema at $: {e.Message}", e); }
    }

    /// <summary>The automaton of any JSON object nested at most <paramref name="depth"/> containers deep (the object itself included).</summary>
    public static ByteAutomaton AnyObject(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        var compiler = new JsonSchemaCompiler();
        int start = compiler._b.State();
        return compiler._b.Build(start, compiler.AnyObject(start, depth));
    }

    /// <summary>The automaton of exactly the UTF-8 texts in <paramref name="choices"/>.</summary>
    public static ByteAutomaton OneOf(IReadOnlyList<string> choices)
    {
        var b = new ByteAutomatonBuilder();
        int start = b.State();
        int end = b.Either(start, choices.Select(c => (Func<int, int>)(s => b.Literal(s, Encoding.UTF8.GetBytes(c)))));
        return b.Build(start, end);
    }

    private static ArgumentException Bad(string path, string message) => new($"JSON schema at {path}: {message}.");

    /// <summary>The values of <paramref name="schema"/> from <paramref name="from"/>; returns the state they end in.</summary>
    /// <exception cref="ArgumentException">An invalid schema or an unsupported keyword, with its JSON path.</exception>
    internal int Value(int from, JsonElement schema, string path)
    {
        if (schema.ValueKind != JsonValueKind.Object) throw Bad(path, "a schema must be a JSON object (true/false schemas are not supported)");
        var keywords = schema.EnumerateObject().Select(p => p.Name).Where(n => !Annotations.Contains(n)).ToList();
        foreach (string name in keywords)
            if (name is not ("type" or "enum" or "const" or "anyOf") && !KeywordTypes.ContainsKey(name))
                throw Bad($"{path}.{name}", $"the keyword '{name}' is not supported");

        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            if (keywords.Count > 1) throw Bad(path, $"anyOf cannot be combined with {string.Join(", ", keywords.Where(k => k != "anyOf"))} here");
            if (anyOf.ValueKind != JsonValueKind.Array || anyOf.GetArrayLength() == 0) throw Bad($"{path}.anyOf", "anyOf must be a non-empty array of schemas");
            var options = anyOf.EnumerateArray().ToArray();
            return _b.Either(from, options.Select((o, i) => (Func<int, int>)(s => Value(s, o, $"{path}.anyOf[{i}]"))));
        }

        string[] types = TypesOf(schema, path);
        foreach (string name in keywords.Where(KeywordTypes.ContainsKey))
            if (!KeywordTypes[name].Intersect(types).Any())
                throw Bad($"{path}.{name}", $"'{name}' does not apply to type {string.Join("/", types)}");

        if (schema.TryGetProperty("enum", out var values) || schema.TryGetProperty("const", out _))
        {
            if (keywords.Count(k => k is "enum" or "const") > 1) throw Bad(path, "give enum or const, not both");
            if (keywords.FirstOrDefault(k => k is not ("type" or "enum" or "const")) is { } other)
                throw Bad($"{path}.{other}", $"'{other}' cannot be combined with enum/const");
            var list = schema.TryGetProperty("const", out var constant) ? [constant]
                : values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0 ? values.EnumerateArray().ToArray()
                : throw Bad($"{path}.enum", "enum must be a non-empty array");
            var admitted = list.Where(v => types.Length == 0 || types.Any(t => IsOfType(v, t))).ToArray();
            if (admitted.Length == 0) throw Bad(path, "no enum value has the schema's type");
            return _b.Either(from, admitted.Select(v => (Func<int, int>)(s => _b.Literal(s, Literal(v)))));
        }
        if (types.Length == 0) throw Bad(path, "a schema needs type, enum, const or anyOf");
        return _b.Either(from, types.Select(t => (Func<int, int>)(s => Typed(s, t, schema, path))));
    }

    private static string[] TypesOf(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type)) return [];
        string[] types = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array when type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String) && type.GetArrayLength() > 0
                => type.EnumerateArray().Select(t => t.GetString()!).Distinct().ToArray(),
            _ => throw Bad($"{path}.type", "type must be a type name or a non-empty list of them"),
        };
        foreach (string t in types)
            if (!Types.Contains(t)) throw Bad($"{path}.type", $"'{t}' is not a JSON Schema type (object, array, string, integer, number, boolean, null)");
        return types;
    }

    private static bool IsOfType(JsonElement value, string type) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.GetDouble() == Math.Floor(value.GetDouble()),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => value.ValueKind == JsonValueKind.Array,
    };

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Literal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => StringLiteral(value.GetString()!),
        JsonValueKind.Object or JsonValueKind.Array => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value, Compact)),
        _ => Encoding.UTF8.GetBytes(value.GetRawText()),
    };

    /// <summary>The compact JSON spelling of a string: only <c>"</c>, <c>\</c> and control characters escaped.</summary>
    internal static byte[] StringLiteral(string text)
    {
        var s = new StringBuilder("\"");
        foreach (char c in text)
            s.Append(c switch
            {
                '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '\b' => "\\b", '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return Encoding.UTF8.GetBytes(s.Append('"').ToString());
    }

    private int Typed(int from, string type, JsonElement schema, string path) => type switch
    {
        "object" => Object(from, schema, path),
        "array" => Array(from, schema, path),
        "string" => String(from),
        "integer" => Integer(from, schema, path),
        "number" => Number(from, schema, path),
        "boolean" => _b.Either(from, [s => _b.Literal(s, "true"u8), s => _b.Literal(s, "false"u8)]),
        _ => _b.Literal(from, "null"u8),
    };

    private int Object(int from, JsonElement schema, string path)
    {
        var properties = schema.TryGetProperty("properties", out var p)
            ? p.ValueKind == JsonValueKind.Object ? p.EnumerateObject().ToArray() : throw Bad($"{path}.properties", "properties must be an object")
            : [];
        var required = new HashSet<string>();
        if (schema.TryGetProperty("required", out var r))
        {
            if (r.ValueKind != JsonValueKind.Array || r.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                throw Bad($"{path}.required", "required must be an array of property names");
            foreach (var name in r.EnumerateArray().Select(x => x.GetString()!))
                if (!properties.Any(q => q.Name == name)) throw Bad($"{path}.required", $"'{name}' is required but not among the properties");
                else required.Add(name);
        }
        if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind != JsonValueKind.False)
            throw Bad($"{path}.additionalProperties", "only additionalProperties false is supported");

        // `none`: nothing written after '{' yet; `some`: at least one property written (the next needs a comma).
        int none = _b.Literal(from, "{"u8), some = -1;
        foreach (var property in properties)
        {
            int value = _b.State(), after = _b.State();
            byte[] key = StringLiteral(property.Name);
            if (none >= 0) _b.Epsilon(_b.Literal(_b.Literal(none, key), ":"u8), value);
            if (some >= 0) _b.Epsilon(_b.Literal(_b.Literal(_b.Literal(some, ","u8), key), ":"u8), value);
            _b.Epsilon(Value(value, property.Value, $"{path}.properties.{property.Name}"), after);
            if (required.Contains(property.Name)) none = -1;
            else if (some >= 0) _b.Epsilon(some, after);
            some = after;
        }
        int close = _b.State();
        if (none >= 0) _b.Epsilon(none, close);
        if (some >= 0) _b.Epsilon(some, close);
        return _b.Literal(close, "}"u8);
    }

    private int Array(int from, JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("items", out var items)) throw Bad(path, "an array schema needs items");
        int min = Count(schema, "minItems", path) ?? 0;
        int? max = Count(schema, "maxItems", path);
        if (max < min) throw Bad(path, $"maxItems {max} is below minItems {min}");
        string itemPath = $"{path}.items";
        var closers = new List<int>();
        int current = _b.Literal(from, "["u8);
        if (min == 0) closers.Add(current);
        int limit = max ?? Math.Max(min, 1);
        for (int count = 1; count <= limit; count++)
        {
            current = Value(count == 1 ? current : _b.Literal(current, ","u8), items, itemPath);
            if (count >= min && (max is not null || count < limit)) closers.Add(current);
        }
        if (max is null && limit >= 1) current = _b.Repeat(current, s => Value(_b.Literal(s, ","u8), items, itemPath));
        if (max is null || limit == 0) closers.Add(current);
        int close = _b.State();
        foreach (int c in closers.Distinct()) _b.Epsilon(c, close);
        return _b.Literal(close, "]"u8);
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 0) throw Bad($"{path}.{keyword}", $"{keyword} must be a non-negative integer");
        return n;
    }

    private static double? Bound(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Bad($"{path}.{keyword}", $"{keyword} must be a number");
        double d = v.GetDouble();
        if (Math.Abs(d) > MaxBound) throw Bad($"{path}.{keyword}", $"{keyword} beyond ±{MaxBound:0e0} is not supported");
        return d;
    }

    private int Integer(int from, JsonElement schema, string path)
    {
        double? lo = Bound(schema, "minimum", path), hi = Bound(schema, "maximum", path);
        long? low = lo is double l ? (long)Math.Ceiling(l) : null, high = hi is double h ? (long)Math.Floor(h) : null;
        if (low > high) throw Bad(path, $"no integer lies between minimum {lo} and maximum {hi}");
        return Integers(from, low, high, []);
    }

    /// <summary>
    /// Numbers: unbounded, any JSON number (exponents included); bounded, an integer in range or I.F (any digits F)
    /// where every I.F is in range, so each accepted text is a value in range and never an exponent form.
    /// </summary>
    private int Number(int from, JsonElement schema, string path)
    {
        double? lo = Bound(schema, "minimum", path), hi = Bound(schema, "maximum", path);
        if (lo > hi) throw Bad(path, $"minimum {lo} is above maximum {hi}");
        if (lo is null && hi is null) return AnyNumber(from);
        long? low = lo is double l ? (long)Math.Ceiling(l) : null, high = hi is double h ? (long)Math.Floor(h) : null;
        var pieces = new List<Func<int, int>>();
        if (!(low > high)) pieces.Add(s => Integers(s, low, high, []));
        // I.F ≥ 0 in range: lo ≤ I and I + 1 ≤ hi. −I.F in range: lo ≤ −(I + 1) and −I ≤ hi.
        long positiveFrom = Math.Max(0, low ?? 0);
        long? positiveTo = hi is double ph ? (long)Math.Floor(ph - 1) : null;
        if (!(positiveTo < positiveFrom)) pieces.Add(s => Fraction(Magnitudes(s, positiveFrom, positiveTo)));
        long negativeFrom = Math.Max(0, hi is double nh ? (long)Math.Ceiling(-nh) : 0);
        long? negativeTo = lo is double nl ? (long)Math.Floor(-nl - 1) : null;
        if (!(negativeTo < negativeFrom)) pieces.Add(s => Fraction(Magnitudes(_b.Literal(s, "-"u8), negativeFrom, negativeTo)));
        if (pieces.Count == 0) throw Bad(path, $"no number between minimum {lo} and maximum {hi} can be written without an exponent");
        return _b.Either(from, pieces);
    }

    /// <summary>Any JSON number, exponents included.</summary>
    private int AnyNumber(int from)
    {
        int sign = _b.Optional(from, s => _b.Literal(s, "-"u8));
        int integer = _b.Either(sign, [s => _b.Literal(s, "0"u8), s => Digits(_b.Range(s, (byte)'1', (byte)'9'))]);
        int fraction = _b.Optional(integer, Fraction);
        return _b.Optional(fraction, s =>
        {
            int e = _b.Range(s, (byte)'E', (byte)'E');
            _b.Range(s, (byte)'e', (byte)'e', e);
            int signed = _b.Optional(e, t => { int x = _b.Range(t, (byte)'+', (byte)'+'); _b.Range(t, (byte)'-', (byte)'-', x); return x; });
            return Digits(_b.Range(signed, (byte)'0', (byte)'9'));
        });
    }

    private int Fraction(int from) => Digits(_b.Range(_b.Literal(from, "."u8), (byte)'0', (byte)'9'));

    private int Digits(int from) => _b.Repeat(from, s => _b.Range(s, (byte)'0', (byte)'9'));

    /// <summary>The integers in low..high (null: unbounded), without "-0".</summary>
    private int Integers(int from, long? low, long? high, List<Func<int, int>> pieces)
    {
        if (high is null || high >= Math.Max(0, low ?? 0))
            pieces.Add(s => Magnitudes(s, Math.Max(0, low ?? 0), high));
        long negativeFrom = Math.Max(1, high is long h ? -h : 1);
        long? negativeTo = low is long l ? -l : null;
        if (!(negativeTo < negativeFrom)) pieces.Add(s => Magnitudes(_b.Literal(s, "-"u8), negativeFrom, negativeTo));
        return _b.Either(from, pieces);
    }

    /// <summary>Unsigned integers in low..high (null: no upper end).</summary>
    private int Magnitudes(int from, long low, long? high)
    {
        long finiteHigh = high ?? DigitRanges.Pow10(DigitRanges.Digits(low)) - 1;
        var pieces = DigitRanges.Spell(low, finiteHigh).Select(ranges => (Func<int, int>)(s =>
        {
            foreach (var (lo, hi) in ranges) s = _b.Range(s, (byte)lo, (byte)hi);
            return s;
        })).ToList();
        if (high is null)
            pieces.Add(s =>
            {
                s = _b.Range(s, (byte)'1', (byte)'9');
                for (int i = 0; i < DigitRanges.Digits(low); i++) s = _b.Range(s, (byte)'0', (byte)'9');
                return Digits(s);
            });
        return _b.Either(from, pieces);
    }

    /// <summary>Any JSON string in the policy's spelling.</summary>
    private int String(int from)
    {
        int loop = _b.State();
        _b.Epsilon(_b.Literal(from, "\""u8), loop);
        _b.Range(loop, 0x20, 0x21, loop);
        _b.Range(loop, 0x23, 0x5B, loop);
        _b.Range(loop, 0x5D, 0x7F, loop);
        _b.Utf8Character(loop, loop);
        int escape = _b.Literal(loop, "\\"u8);
        foreach (byte c in "\"\\/bfnrt"u8) _b.Range(escape, c, c, loop);
        int u = _b.Literal(escape, "u"u8);
        // \uXXXX outside D800–DFFF: a lone surrogate is not a character.
        int rest3 = _b.State(), rest2 = _b.State();
        Hex(u, rest3, "0123456789abcABCefEF");
        int d = _b.State();
        _b.Range(u, (byte)'d', (byte)'d', d);
        _b.Range(u, (byte)'D', (byte)'D', d);
        _b.Range(d, (byte)'0', (byte)'7', rest2);
        int rest1 = _b.State();
        Hex(rest3, rest2, null);
        Hex(rest2, rest1, null);
        Hex(rest1, loop, null);
        return _b.Literal(loop, "\""u8);
    }

    private void Hex(int from, int to, string? only)
    {
        foreach (char c in only ?? "0123456789abcdefABCDEF") _b.Range(from, (byte)c, (byte)c, to);
    }

    private int AnyValue(int from, int depth)
    {
        var pieces = new List<Func<int, int>>
        {
            String,
            AnyNumber,
            s => _b.Literal(s, "true"u8), s => _b.Literal(s, "false"u8), s => _b.Literal(s, "null"u8),
        };
        if (depth > 0)
        {
            pieces.Add(s => AnyObject(s, depth));
            pieces.Add(s =>
            {
                int open = _b.Literal(s, "["u8), close = _b.State();
                _b.Epsilon(open, close);
                int first = AnyValue(open, depth - 1);
                _b.Epsilon(_b.Repeat(first, t => AnyValue(_b.Literal(t, ","u8), depth - 1)), close);
                return _b.Literal(close, "]"u8);
            });
        }
        return _b.Either(from, pieces);
    }

    private int AnyObject(int from, int depth)
    {
        int open = _b.Literal(from, "{"u8), close = _b.State();
        _b.Epsilon(open, close);
        int first = AnyValue(_b.Literal(String(open), ":"u8), depth - 1);
        _b.Epsilon(_b.Repeat(first, t => AnyValue(_b.Literal(String(_b.Literal(t, ","u8)), ":"u8), depth - 1)), close);
        return _b.Literal(close, "}"u8);
    }
}
