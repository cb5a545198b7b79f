using BenchmarkDotNet.Attributes;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Benchmarks.Kernels;

/// <summary>
/// Every kernel at every model-sized shape of its spec: the tuned built-in variant (tuning table's choice, default
/// without one) against the spec's naive scalar source compiled with Roslyn. Hot cache, unlike the search's profiler.
/// </summary>
[MemoryDiagnoser]
public class KernelSpecBenchmarks
{
    private KernelCase _case = null!;
    private Action<KernelCase> _tuned = null!, _naive = null!;

    /// <summary>"kernel|shape" pairs from <see cref="KernelSpecs.All"/>.</summary>
    public static IEnumerable<string> Cases => KernelSpecs.All.SelectMany(s => s.ProfileShapes.Select(shape => $"{s.Name}|{shape.Label}"));

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split('|');
        var spec = KernelSpecs.Find(parts[0]);
        var shape = spec.ProfileShapes.First(s => s.Label == parts[1]);
        _case = spec.CreateCase(shape, seed: 1);
        _tuned = spec.Build(KernelTuningTable.Load().Choose(spec.Name, spec.ShapeClass(shape))).Run!;
        var naive = RoslynKernelCompiler.Compile(spec, spec.NaiveSource, "naive");
        _naive = naive.Run ?? throw new InvalidOperationException(naive.CompileError);
    }

    [Benchmark(Baseline = true)]
    public void Naive() => _naive(_case);

    [Benchmark]
    public void Tuned() => _tuned(_case);
}
