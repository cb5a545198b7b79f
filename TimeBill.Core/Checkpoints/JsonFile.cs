using System.Text.Json;

namespace TimeBill.Core.Checkpoints;

/// <summary>Reads JSON files and their fields, reporting every problem as a <see cref="ModelLoadException"/>.</summary>
internal static class JsonFile
{
    public static JsonDocument Read(string path)
    {
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found.");
        byte[] bytes = File.ReadAllBytes(path);
        JsonDocument document;
        try { document = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new ModelLoadException(path, $"invalid JSON ({e.Message}).", e); }
        try
        {
            CheckStrings(bytes, path);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(path, "expected a JSON object at the top level.");
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks what <see cref="JsonDocument"/> leaves to the first read of a string: that the text is UTF-8 and that no
    /// string or name escapes a lone surrogate (<c>"\ud800"</c>), either of which would make reading it throw.
    /// </summary>
    /// <exception cref="ModelLoadException">Invalid UTF-8, or an escape that is no UTF-16 text, with its byte offset.</exception>
    public static void CheckStrings(ReadOnlySpan<byte> json, string path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new ModelLoadException(path, "the JSON text is not valid UTF-8.");
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
                try { _ = reader.GetString(); }
                catch (InvalidOperationException)
                {
                    throw new ModelLoadException(path, $"the string at byte {reader.TokenStartIndex} escapes a lone surrogate, which is no text.");
                }
            }
        }
        catch (JsonException e) { throw new ModelLoadException(path, $"invalid JSON ({e.Message}).", e); }
    }

    public static JsonElement? Optional(this JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static int RequiredInt(this JsonElement obj, string name, string path) =>
        obj.Optional(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int i)
            ? i : throw new ModelLoadException(path, $"required integer field '{name}' is missing or not an integer.");

    public static int? OptionalInt(this JsonElement obj, string name, string path) =>
        obj.Optional(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out int i) => i,
            _ => throw new ModelLoadException(path, $"field '{name}' must be an integer."),
        };

    public static double? OptionalDouble(this JsonElement obj, string name, string path) =>
        obj.Optional(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
            _ => throw new ModelLoadException(path, $"field '{name}' must be a number."),
        };

    public static bool? OptionalBool(this JsonElement obj, string name, string path) =>
        obj.Optional(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw new ModelLoadException(path, $"field '{name}' must be true or false."),
        };

    public static string? OptionalString(this JsonElement obj, string name, string path) =>
        obj.Optional(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } v => v.GetString(),
            _ => throw new ModelLoadException(path, $"field '{name}' must be a string."),
        };

    /// <summary>An integer or a list of integers (as <c>eos_token_id</c> may be).</summary>
    public static IReadOnlyList<int> IntOrList(this JsonElement obj, string name, string path) =>
        obj.Optional(name) switch
        {
            null => [],
            { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out int i) => [i],
            { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)) =>
                a.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            _ => throw new ModelLoadException(path, $"field '{name}' must be an integer or a list of integers."),
        };
}
