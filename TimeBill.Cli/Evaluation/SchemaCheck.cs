using System.Text.Json;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// An independent validator for the JSON Schema subset the constraints support (written from the JSON Schema
/// semantics, not from the compiler): whether a parsed value satisfies a schema. eval-structured and the tests judge
/// answers with it. Objects may have no properties beyond
/// <c>properties</c>, as the constraints write them.
/// </summary>
internal static class SchemaCheck
{
    /// <summary>Null when <paramref name="value"/> satisfies <paramref name="schema"/>, else why not.</summary>
    public static string? Problem(JsonElement value, JsonElement schema, string path = "$")
    {
        if (schema.TryGetProperty("anyOf", out var anyOf))
            return anyOf.EnumerateArray().Any(s => Problem(value, s, path) is null) ? null : $"{path}: no anyOf branch matches";
        if (schema.TryGetProperty("const", out var constant))
            return JsonElement.DeepEquals(value, constant) ? null : $"{path}: not the const";
        if (schema.TryGetProperty("enum", out var values))
            return values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, value)) ? null : $"{path}: not in the enum";
        var type = schema.GetProperty("type");
        var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : [type.GetString()!];
        var problems = types.Select(t => OfType(value, t, schema, path)).ToArray();
        return problems.Any(p => p is null) ? null : string.Join("; ", problems);
    }

    private static string? OfType(JsonElement value, string type, JsonElement schema, string path)
    {
        switch (type)
        {
            case "null": return value.ValueKind == JsonValueKind.Null ? null : $"{path}: not null";
            case "boolean": return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : $"{path}: not a boolean";
            case "string": return value.ValueKind == JsonValueKind.String ? null : $"{path}: not a string";
            case "integer" or "number":
                if (value.ValueKind != JsonValueKind.Number) return $"{path}: not a number";
                if (!decimal.TryParse(value.GetRawText(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out decimal x))
                {
                    // Beyond decimal's range (an exponent form of an unbounded number): only its kind can be checked.
                    if (schema.TryGetProperty("minimum", out _) || schema.TryGetProperty("maximum", out _)) return $"{path}: {value.GetRawText()} out of any bound";
                    double d = value.GetDouble();
                    return type == "integer" && d != Math.Floor(d) ? $"{path}: not an integer" : null;
                }
                if (type == "integer" && x != decimal.Truncate(x)) return $"{path}: {x} is not an integer";
                if (schema.TryGetProperty("minimum", out var min) && x < min.GetDecimal()) return $"{path}: {x} below the minimum";
                if (schema.TryGetProperty("maximum", out var max) && x > max.GetDecimal()) return $"{path}: {x} above the maximum";
                return null;
            case "array":
                if (value.ValueKind != JsonValueKind.Array) return $"{path}: not an array";
                int n = value.GetArrayLength();
                if (schema.TryGetProperty("minItems", out var minItems) && n < minItems.GetInt32()) return $"{path}: {n} items, fewer than minItems";
                if (schema.TryGetProperty("maxItems", out var maxItems) && n > maxItems.GetInt32()) return $"{path}: {n} items, more than maxItems";
                return value.EnumerateArray().Select((item, i) => Problem(item, schema.GetProperty("items"), $"{path}[{i}]")).FirstOrDefault(p => p is not null);
            default:
                if (value.ValueKind != JsonValueKind.Object) return $"{path}: not an object";
                var properties = schema.TryGetProperty("properties", out var p) ? p : default;
                foreach (var property in value.EnumerateObject())
                {
                    if (properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty(property.Name, out var sub))
                        return $"{path}: unexpected property '{property.Name}'";
                    if (Problem(property.Value, sub, $"{path}.{property.Name}") is { } problem) return problem;
                }
                if (schema.TryGetProperty("required", out var required))
                    foreach (var name in required.EnumerateArray())
                        if (!value.TryGetProperty(name.GetString()!, out _)) return $"{path}: missing required '{name.GetString()}'";
                return null;
        }
    }
}
