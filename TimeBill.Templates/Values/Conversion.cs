using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TimeBill.Templates.Values;

/// <summary>
/// .NET data as template values: JSON (<see cref="JsonNode"/>, <see cref="JsonElement"/>), dictionaries, lists and
/// other enumerables, strings, numbers (integers become Python ints, others floats), bools and null.
/// </summary>
internal static class Conversion
{
    public static object? FromObject(object? value) => value switch
    {
        null => null,
        string or bool or long or double or ListValue or DictValue or Markup or Namespace or Undefined => value,
        JsonElement e => FromJson(e),
        JsonNode n => FromJson(n),
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        ulong u => u <= long.MaxValue ? (long)u : throw new ArgumentException($"the integer {u} does not fit in 64 signed bits."),
        float f => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
        decimal m => (double)m,
        char c => c.ToString(),
        IDictionary d => FromDictionary(d),
        IEnumerable items => new ListValue([.. items.Cast<object?>().Select(FromObject)]),
        _ => throw new ArgumentException($"a value of type {value.GetType()} cannot be passed to a template; pass JSON, a dictionary, a list, a string, a number, a bool or null."),
    };

    private static DictValue FromDictionary(IDictionary d)
    {
        var dict = new DictValue();
        foreach (DictionaryEntry entry in d) dict.Set(FromObject(entry.Key), FromObject(entry.Value));
        return dict;
    }

    public static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => FromJsonObject(o),
        JsonArray a => new ListValue([.. a.Select(FromJson)]),
        JsonValue v when v.TryGetValue(out JsonElement e) => FromJson(e),
        JsonValue v => FromObject(v.GetValue<object>()),
        _ => throw new ArgumentException($"unexpected JSON node type {node.GetType()}."),
    };

    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => FromJsonObject(e),
        JsonValueKind.Array => new ListValue([.. e.EnumerateArray().Select(FromJson)]),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => Number(e),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static DictValue FromJsonObject(JsonObject o)
    {
        var dict = new DictValue();
        foreach (var (key, value) in o) dict.Set(key, FromJson(value));
        return dict;
    }

    private static DictValue FromJsonObject(JsonElement o)
    {
        var dict = new DictValue();
        foreach (var p in o.EnumerateObject()) dict.Set(p.Name, FromJson(p.Value));
        return dict;
    }

    /// <summary>A JSON number as Python's <c>json.loads</c> reads it: an int when written without fraction or exponent.</summary>
    private static object Number(JsonElement e)
    {
        string raw = e.GetRawText();
        if (raw.AsSpan().IndexOfAny(".eE") >= 0) return e.GetDouble();
        return e.TryGetInt64(out long n) ? n : throw new ArgumentException($"the JSON integer {raw} does not fit in 64 signed bits.");
    }
}
