using TimeBill.Kernels.Specs;

namespace TimeBill.Kernels.Search;

/// <summary>
/// An implementation the search reports against, timed on the same rotation of cases: libtorch eager (supplied by
/// a host that has TorchSharp) or the naive .NET one (<see cref="NaiveBaseline"/>).
/// </summary>
public interface IBaselineKernelTimer
{
    /// <summary>Short name for reports, e.g. <c>libtorch eager</c>.</summary>
    string Name { get; }

    /// <summary>Median seconds per call over <paramref name="rotation"/>, or null when this baseline has no such kernel.</summary>
    double? MedianSeconds(KernelSpec spec, IReadOnlyList<KernelCase> rotation, KernelProfiler profiler);
}

/// <summary>The spec's scalar <see cref="KernelSpec.NaiveSource"/>, compiled with Roslyn: always available.</summary>
public sealed class NaiveBaseline : IBaselineKernelTimer
{
    /// <inheritdoc />
    public string Name => "naive .NET";

    /// <inheritdoc />
    public double? MedianSeconds(KernelSpec spec, IReadOnlyList<KernelCase> rotation, KernelProfiler profiler)
    {
        var naive = RoslynKernelCompiler.Compile(spec, spec.NaiveSource, "naive", "naive");
        return naive.Run is { } run ? profiler.MedianSeconds(rotation.Count, i => run(rotation[i])) : null;
    }
}
