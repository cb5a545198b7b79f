using System.Text;

namespace TimeBill.Core.Model;

/// <summary>
/// Rotary position embedding parameters: the base θ and, for <c>llama3</c> scaling, the frequency
/// smoothing between the original and the extended context.
/// </summary>
/// <param name="Theta">Rotary base θ.</param>
/// <param name="Type">"default" or "llama3".</param>
/// <param name="Factor">llama3: overall context extension factor.</param>
/// <param name="LowFrequencyFactor">llama3: wavelengths above original/low are divided by <paramref name="Factor"/>.</param>
/// <param name="HighFrequencyFactor">llama3: wavelengths below original/high are kept.</param>
/// <param name="OriginalMaxPositions">llama3: the context the model was trained on before extension.</param>
public sealed record RopeScaling(
    double Theta,
    string Type = "default",
    double Factor = 1,
    double LowFrequencyFactor = 1,
    double HighFrequencyFactor = 4,
    int OriginalMaxPositions = 8192)
{
    /// <summary>
    /// Per-frequency divisors applied after <see cref="Type"/>'s scaling ([headDim/2]; GGUF's <c>rope_freqs.weight</c>,
    /// how llama.cpp files carry llama3 scaling), or null.
    /// </summary>
    public RopeFrequencyFactors? FrequencyFactors { get; init; }

    // The printed form keys shape hashes: shapes without factors print as they always did.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Theta = {Theta}, Type = {Type}, Factor = {Factor}, LowFrequencyFactor = {LowFrequencyFactor}, ")
            .Append($"HighFrequencyFactor = {HighFrequencyFactor}, OriginalMaxPositions = {OriginalMaxPositions}");
        if (FrequencyFactors is not null) builder.Append($", FrequencyFactors = {FrequencyFactors}");
        return true;
    }
}

/// <summary>Per-frequency rotary divisors with value equality; prints as a short hash of the values.</summary>
public sealed class RopeFrequencyFactors : IEquatable<RopeFrequencyFactors>
{
    private readonly float[] _values;

    /// <summary>Copies <paramref name="values"/>.</summary>
    public RopeFrequencyFactors(IEnumerable<float> values) => _values = (values ?? throw new ArgumentNullException(nameof(values))).ToArray();

    /// <summary>The divisors, lowest frequency index first.</summary>
    public IReadOnlyList<float> Values => _values;

    /// <inheritdoc/>
    public bool Equals(RopeFrequencyFactors? other) => other is not null && _values.AsSpan().SequenceEqual(other._values);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as RopeFrequencyFactors);
    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (float v in _values) hash.Add(v);
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"[{_values.Length}] {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_values.AsSpan())))[..16]}";
}
