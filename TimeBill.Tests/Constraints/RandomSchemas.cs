using System.Text.Json.Nodes;

namespace TimeBill.Tests.Constraints;

/// <summary>Random schemas of the supported subset, from a seed: nested objects and arrays, enums, bounds, anyOf.</summary>
public static class RandomSchemas
{
    private static readonly string[] Words = ["red", "green", "blue", "a b", "é", "x\"y", "stop", "go"];

    /// <summary>A schema nested at most <paramref name="depth"/> containers deep.</summary>
    public static JsonObject Create(Random random, int depth = 2)
    {
        int kind = random.Next(depth > 0 ? 9 : 7);
        switch (kind)
        {
            case 0: return new JsonObject { ["type"] = "boolean" };
            case 1: return new JsonObject { ["type"] = "null" };
            case 2:
                return random.Next(2) == 0 ? new JsonObject { ["type"] = "string" }
                    : new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. Words.OrderBy(_ => random.Next()).Take(random.Next(1, 4)).Select(w => JsonValue.Create(w))]) };
            case 3 or 4:
            {
                var schema = new JsonObject { ["type"] = kind == 3 ? "integer" : "number" };
                int lo = random.Next(-30, 30);
                if (random.Next(2) == 0) schema["minimum"] = kind == 4 && random.Next(2) == 0 ? lo + 0.5 : lo;
                if (random.Next(2) == 0) schema["maximum"] = lo + random.Next(1, 200);
                return schema;
            }
            case 5: return new JsonObject { ["anyOf"] = new JsonArray(Create(random, 0), Create(random, 0)) };
            case 6: return new JsonObject { ["type"] = new JsonArray("string", "null") };
            case 7:
            {
                var properties = new JsonObject();
                var required = new JsonArray();
                int count = random.Next(1, 4);
                for (int i = 0; i < count; i++)
                {
                    string name = $"p{i}";
                    properties[name] = Create(random, depth - 1);
                    if (random.Next(2) == 0) required.Add(name);
                }
                return new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required, ["additionalProperties"] = false };
            }
            default:
            {
                var schema = new JsonObject { ["type"] = "array", ["items"] = Create(random, depth - 1) };
                int min = random.Next(3);
                if (random.Next(2) == 0) schema["minItems"] = min;
                if (random.Next(2) == 0) schema["maxItems"] = min + random.Next(3);
                return schema;
            }
        }
    }
}
