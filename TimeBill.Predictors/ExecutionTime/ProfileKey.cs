namespace TimeBill.Predictors.ExecutionTime;

/// <summary>What a profile's timings depend on; a profile is valid only where its key matches.</summary>
/// <param name="ModelIdentity">Architecture and shape of the model (weights do not change timings).</param>
/// <param name="DataType">Compute data type, for example <c>float32</c>.</param>
/// <param name="Threads">Intra-op thread count.</param>
/// <param name="Machine">The machine.</param>
internal sealed record ProfileKey(string ModelIdentity, string DataType, int Threads, MachineDescription Machine)
{
    /// <summary>
    /// The fields in which <paramref name="other"/> differs from this key and that invalidate the timings (model,
    /// dtype, threads, cpu, cores), as <c>name: this ≠ other</c> lines.
    /// </summary>
    public IReadOnlyList<string> Differences(ProfileKey other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var d = new List<string>();
        Compare(d, "model", ModelIdentity, other.ModelIdentity);
        Compare(d, "dtype", DataType, other.DataType);
        Compare(d, "threads", Threads, other.Threads);
        Compare(d, "cpu", Machine.CpuModel, other.Machine.CpuModel);
        Compare(d, "cores", Machine.LogicalCores, other.Machine.LogicalCores);
        return d;
    }

    /// <summary>
    /// The fields that differ but leave the timings roughly right (an operating-system patch, another .NET runtime):
    /// worth a warning, and a recalibrating estimator corrects what moved.
    /// </summary>
    public IReadOnlyList<string> MinorDifferences(ProfileKey other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var d = new List<string>();
        Compare(d, "os", Machine.OperatingSystem, other.Machine.OperatingSystem);
        Compare(d, "dotnet", Machine.DotNetVersion, other.Machine.DotNetVersion);
        return d;
    }

    /// <summary>A file name that tells keys apart: the model identity, dtype, threads and a hash of the cpu and core count.</summary>
    public string FileStem
    {
        get
        {
            string machine = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                System.Text.Encoding.UTF8.GetBytes($"{Machine.CpuModel}|{Machine.LogicalCores}")))[..12];
            string model = string.Concat(ModelIdentity.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
            return $"{model}-{DataType}-t{Threads}-{machine}";
        }
    }

    private static void Compare<T>(List<string> d, string name, T mine, T theirs)
    {
        if (!EqualityComparer<T>.Default.Equals(mine, theirs)) d.Add($"{name}: profile has '{mine}', in use '{theirs}'");
    }
}
