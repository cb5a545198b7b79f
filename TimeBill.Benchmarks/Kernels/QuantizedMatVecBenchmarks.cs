using BenchmarkDotNet.Attributes;
using TimeBill.Kernels;
using TimeBill.Kernels.Quantized;

namespace TimeBill.Benchmarks.Kernels;

/// <summary>
/// y = W x at SmolLM2-135M sizes with W in ggml block formats, on the int8 path (x quantized per call, included in
/// the time) and the float path, against <see cref="MatVec.Float32"/>, <see cref="MatVec.BFloat16"/> and <see cref="MatVec.Float16"/> at their
/// default variants. K-quants need cols divisible by 256, so only 576x1536 runs them.
/// </summary>
[MemoryDiagnoser]
public class QuantizedMatVecBenchmarks
{
    private float[] _w = [], _x = [], _y = [];
    private ushort[] _wBf16 = [], _wF16 = [];
    private byte[] _quantized = [], _scratch = [];
    private int _rows, _cols;
    private GgmlType _type;

    /// <summary>rows x cols: MLP down projection, MLP up/gate projection, output head.</summary>
    [Params("576x1536", "1536x576", "49152x576")]
    public string Shape { get; set; } = "";

    /// <summary>The weights' ggml type.</summary>
    [Params("q8_0", "q4_0", "q4_K", "q5_K", "q6_K")]
    public string Format { get; set; } = "";

    /// <summary>Threads the rows are split across.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dims = Shape.Split('x');
        (_rows, _cols) = (int.Parse(dims[0]), int.Parse(dims[1]));
        _type = Enum.GetValues<GgmlType>().First(t => GgmlTypeInfo.Of(t).Name == Format);
        var random = new Random(1);
        _w = [.. Enumerable.Range(0, _rows * _cols).Select(_ => random.NextSingle() - 0.5f)];
        _x = [.. Enumerable.Range(0, _cols).Select(_ => random.NextSingle() - 0.5f)];
        _y = new float[_rows];
        _wBf16 = new ushort[_w.Length];
        BFloat16Bits.FromSingle(_w, _wBf16);
        _wF16 = new ushort[_w.Length];
        GgmlQuantization.Quantize(GgmlType.F16, _w, System.Runtime.InteropServices.MemoryMarshal.AsBytes(_wF16.AsSpan()));
        if (!GgmlTypeInfo.Of(_type).IsWholeBlocks(_cols)) return; // K-quant at 576 columns: only the float baselines run
        int rowBytes = GgmlTypeInfo.Of(_type).RowBytes(_cols);
        _quantized = new byte[(long)_rows * rowBytes];
        for (int r = 0; r < _rows; r++) GgmlQuantization.Quantize(_type, _w.AsSpan(r * _cols, _cols), _quantized.AsSpan(r * rowBytes, rowBytes));
        _scratch = new byte[QuantizedMatVec.ActivationBytes(_type, _cols)];
    }

    private bool Runs => _quantized.Length > 0;

    [Benchmark(Baseline = true)]
    public void Float32() => MatVec.Float32(_w, _rows, _cols, _x, _y, MatVec.DefaultVariant with { Threads = Threads });

    [Benchmark]
    public void BFloat16() => MatVec.BFloat16(_wBf16, _rows, _cols, _x, _y, MatVec.DefaultVariant with { Threads = Threads });

    [Benchmark]
    public void Float16() => MatVec.Float16(_wF16, _rows, _cols, _x, _y, MatVec.DefaultVariant with { Threads = Threads });

    [Benchmark]
    public void QuantizedInt8()
    {
        if (Runs) QuantizedMatVec.Multiply(_type, _quantized, _rows, _cols, _x, _y, _scratch, QuantizedMatVec.DefaultVariant with { Threads = Threads });
    }

    [Benchmark]
    public void QuantizedFloat()
    {
        if (Runs)
            QuantizedMatVec.Multiply(_type, _quantized, _rows, _cols, _x, _y, [],
                new KernelVariant(KernelVariant.DequantizedFloat, KernelVariant.WidestAcceleratedWidth, Threads: Threads));
    }
}
