namespace TimeBill.Predictors.ExecutionTime;

/// <summary>What a profile's timings depend on; a profile is valid only where its key matches.</summary>
/// <param name="ModelIdentity">Architecture and shape of the model (weights do not change timings).</param>
/// <param name="DataType">Compute data type, for example <c>float32</c>.</param>
/// <param name="Threads">Intra-op thread count.</param>
/// <param name="Machine">The machine.</param>
public sealed record ProfileKey(string ModelIdentity, string DataType, int Threads, MachineDescription Machine)
{
    /// <summary>The fields in which <paramref name="other"/> differs from this key, as <c>name: this ≠ other</c> lines.</summary>
    public IReadOnlyList<string> Differences(ProfileKey other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var d = new List<string>();
        void Compare<T>(string name, T mine, T theirs)
        {
            if (!EqualityComparer<T>.Default.Equals(mine, theirs)) d.Add($"{name}: profile has '{mine}', in use '{theirs}'");
        }
        Compare("model", ModelIdentity, other.ModelIdentity);
        Compare("dtype", DataType, other.DataType);
        Compare("threads", Threads, other.Threads);
        Compare("cpu", Machine.CpuModel, other.Machine.CpuModel);
        Compare("cores", Machine.LogicalCores, other.Machine.LogicalCores);
        Compare("os", Machine.OperatingSystem, other.Machine.OperatingSystem);
        Compare("dotnet", Machine.DotNetVersion, other.Machine.DotNetVersion);
        return d;
    }
}
