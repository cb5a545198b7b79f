namespace TimeBill.Core.Eviction;

/// <summary>The built-in policies by name, with their default settings (what the CLI's <c>--evict</c> accepts).</summary>
public static class EvictionPolicies
{
    /// <summary>Names of the built-in policies, in the order reports list them.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["none", "snapkv", "pyramidkv", "h2o", "tova", "streamingllm", "knorm", "random"];

    /// <summary>The built-in policy called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static EvictionPolicy Create(string name, int seed = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "none" => new NoEvictionPolicy(),
            "snapkv" => new SnapKvPolicy(),
            "pyramidkv" => new PyramidKvPolicy(),
            "h2o" => new H2OPolicy(),
            "tova" => new TovaPolicy(),
            "streamingllm" => new StreamingLlmPolicy(),
            "knorm" => new KNormPolicy(),
            "random" => new RandomPolicy(seed),
            _ => throw new ArgumentException($"unknown eviction policy '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
