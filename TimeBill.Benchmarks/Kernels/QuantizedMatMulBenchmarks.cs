using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using TimeBill.Benchmarks.Model;
using TimeBill.Kernels.Quantized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Benchmarks.Kernels;

/// <summary>
/// The prefill product Y = X Wᵀ of 256 tokens at SmolLM2-135M sizes, W in a ggml block format, two ways: over the blocks
/// (<see cref="QuantizedMatMul"/>, AVX-VNNI) and the fallback that dequantizes 1 MB slices of W for libtorch's float32
/// GEMM (the baseline); and libtorch on a float32 W, what a float32 model's prefill costs. 2 threads.
/// </summary>
public class QuantizedMatMulBenchmarks
{
    private const int Tokens = 256, Threads = 2;
    private const long SliceBytes = 1L << 20;
    private byte[] _weights = [];
    private float[] _x = [], _y = [];
    private Tensor? _xTensor, _wTensor, _scratch;
    private int _rows, _cols;
    private GgmlType _type;

    /// <summary>rows x cols: MLP gate and up projections, MLP down projection.</summary>
    [Params("3072x576", "576x1536")]
    public string Shape { get; set; } = "";

    /// <summary>The weights' ggml type (K-quants only at 1,536 columns, whole 256-blocks).</summary>
    [Params("q8_0", "q4_0", "q4_K")]
    public string Format { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        ModelBenchmarkSubjects.UseTwoTorchThreads();
        var dims = Shape.Split('x');
        (_rows, _cols) = (int.Parse(dims[0]), int.Parse(dims[1]));
        _type = Enum.GetValues<GgmlType>().First(t => GgmlTypeInfo.Of(t).Name == Format);
        var random = new Random(1);
        var w = Enumerable.Range(0, _rows * _cols).Select(_ => random.NextSingle() - 0.5f).ToArray();
        _x = [.. Enumerable.Range(0, Tokens * _cols).Select(_ => random.NextSingle() - 0.5f)];
        _y = new float[Tokens * _rows];
        _xTensor = tensor(_x, [Tokens, _cols]);
        _wTensor = tensor(w, [_rows, _cols]);
        if (!GgmlTypeInfo.Of(_type).IsWholeBlocks(_cols)) return;
        int rowBytes = GgmlTypeInfo.Of(_type).RowBytes(_cols);
        _weights = new byte[(long)_rows * rowBytes];
        for (int r = 0; r < _rows; r++) GgmlQuantization.Quantize(_type, w.AsSpan(r * _cols, _cols), _weights.AsSpan(r * rowBytes, rowBytes));
        _scratch = empty((int)Math.Clamp(SliceBytes / (4L * _cols), 1, _rows), _cols);
    }

    private bool Runs => _weights.Length > 0 && QuantizedMatMul.IsSupported(_type);

    [Benchmark(Baseline = true)]
    public void DequantizedSlicesOnLibtorch()
    {
        if (!Runs) return;
        using var scope = NewDisposeScope();
        var y = empty(Tokens, _rows);
        int slice = (int)_scratch!.shape[0];
        for (int start = 0; start < _rows; start += slice)
        {
            int count = Math.Min(slice, _rows - start);
            var w = _scratch.narrow(0, 0, count);
            GgmlQuantization.DequantizeRows(_type, _weights, _cols, start, count, MemoryMarshal.Cast<byte, float>(w.bytes));
            y.narrow(1, start, count).copy_(F.linear(_xTensor!, w));
        }
    }

    [Benchmark]
    public void Blocks()
    {
        if (Runs) QuantizedMatMul.Multiply(_type, _weights, _rows, _cols, _x, Tokens, _y, _rows, QuantizedMatMul.DefaultVariant with { Threads = Threads });
    }

    [Benchmark]
    public void Float32OnLibtorch()
    {
        using var y = F.linear(_xTensor!, _wTensor!);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _xTensor?.Dispose();
        _wTensor?.Dispose();
        _scratch?.Dispose();
    }
}
