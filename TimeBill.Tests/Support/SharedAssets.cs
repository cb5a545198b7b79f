using System.Text.Json;

namespace TimeBill.Tests.Support;

/// <summary>Locates ../shared (models and reference outputs) from the test's output folder.</summary>
public static class SharedAssets
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TimeBill.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
        throw new DirectoryNotFoundException("TimeBill.sln not found above the test folder; cannot locate ../shared.");
    });

    /// <summary>../shared/models/NAME.</summary>
    public static string Model(string name) => Path.Combine(Root.Value, "models", name);

    /// <summary>../shared/model-shapes/NAME.json.</summary>
    public static string Shape(string name) => Path.Combine(Root.Value, "model-shapes", name + ".json");

    /// <summary>Parsed ../shared/reference/NAME.visible.json.</summary>
    public static JsonElement Reference(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Root.Value, "reference", name + ".visible.json"))).RootElement;

    /// <summary>An int array field.</summary>
    public static int[] Ints(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetInt32()).ToArray();

    /// <summary>A float array field.</summary>
    public static float[] Floats(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetSingle()).ToArray();
}
