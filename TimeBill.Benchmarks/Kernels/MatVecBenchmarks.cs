using BenchmarkDotNet.Attributes;
using TimeBill.Core.Native;
using TimeBill.Kernels;
using TimeBill.Kernels.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Benchmarks.Kernels;

/// <summary>
/// y = W x at SmolLM2-135M sizes: the tuned kernel (tuning table's choice, default without one) in float32 and
/// bfloat16 against a scalar loop and libtorch eager (nn.functional.linear) in both dtypes.
/// </summary>
[MemoryDiagnoser]
public class MatVecBenchmarks
{
    private float[] _w = [], _x = [], _y = [];
    private ushort[] _wBf16 = [];
    private int _rows, _cols;
    private KernelVariant _float32, _bfloat16;
    private Tensor? _tw, _tx, _twBf16, _txBf16;

    /// <summary>rows x cols: MLP down projection, MLP up/gate projection, output head.</summary>
    [Params("576x1536", "1536x576", "49152x576")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var dims = Shape.Split('x');
        (_rows, _cols) = (int.Parse(dims[0]), int.Parse(dims[1]));
        var random = new Random(1);
        _w = [.. Enumerable.Range(0, _rows * _cols).Select(_ => random.NextSingle() - 0.5f)];
        _x = [.. Enumerable.Range(0, _cols).Select(_ => random.NextSingle() - 0.5f)];
        _y = new float[_rows];
        _wBf16 = new ushort[_w.Length];
        BFloat16Bits.FromSingle(_w, _wBf16);
        var table = KernelTuningTable.Load();
        _float32 = table.Choose(KernelNames.MatVecFloat32, ShapeClasses.MatVec(_rows, _cols, 4));
        _bfloat16 = table.Choose(KernelNames.MatVecBFloat16, ShapeClasses.MatVec(_rows, _cols, 2));

        TorchSharpNativeLoader.EnsureLoaded();
        _tw = torch.tensor(_w).reshape(_rows, _cols);
        _tx = torch.tensor(_x);
        _twBf16 = _tw.to(ScalarType.BFloat16);
        _txBf16 = _tx.to(ScalarType.BFloat16);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _tw, _tx, _twBf16, _txBf16 }) t?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Float32Naive()
    {
        for (int r = 0; r < _rows; r++)
        {
            float sum = 0;
            for (int c = 0; c < _cols; c++) sum += _w[r * _cols + c] * _x[c];
            _y[r] = sum;
        }
    }

    [Benchmark]
    public void Float32Tuned() => MatVec.Float32(_w, _rows, _cols, _x, _y, _float32);

    [Benchmark]
    public void BFloat16Tuned() => MatVec.BFloat16(_wBf16, _rows, _cols, _x, _y, _bfloat16);

    [Benchmark]
    public void Float32TorchEager()
    {
        using var noGrad = torch.no_grad();
        using var y = nn.functional.linear(_tx!, _tw!);
    }

    [Benchmark]
    public void BFloat16TorchEager()
    {
        using var noGrad = torch.no_grad();
        using var y = nn.functional.linear(_txBf16!, _twBf16!);
    }
}
