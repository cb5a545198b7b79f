using TimeBill.Kernels.Tuning;
using TimeBill.Core.Native;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Cli.Tuning;

/// <summary>
/// The libtorch eager baseline: each kernel written as the Hugging Face modules write it on TorchSharp
/// (linear, RMSNorm as pow/mean/rsqrt, rotate-half, silu·up, repeat-KV attention, topk), timed on tensors
/// copied from the same rotation of cases the candidates run on.
/// </summary>
internal sealed class TorchEagerKernelTimer : IBaselineKernelTimer
{
    public string Name => "libtorch eager";

    /// <summary>Why libtorch could not be loaded, when it could not; the search then reports no eager timings.</summary>
    public string? Unavailable { get; private set; }

    public double? MedianSeconds(KernelSpec spec, IReadOnlyList<KernelCase> rotation, KernelProfiler profiler)
    {
        if (!TryLoad()) return null;
        using var noGrad = torch.no_grad();
        var inputs = rotation.Select(Inputs).ToList();
        try
        {
            if (inputs.Any(i => i is null)) return null;
            return profiler.MedianSeconds(inputs.Count, i =>
            {
                using var scope = torch.NewDisposeScope();
                inputs[i]!.Run();
            });
        }
        finally
        {
            foreach (var input in inputs) input?.Dispose();
        }
    }

    /// <summary>Loads libtorch (once); false, with <see cref="Unavailable"/> set, when it cannot be loaded.</summary>
    public bool TryLoad()
    {
        if (Unavailable is not null) return false;
        try
        {
            TorchSharpNativeLoader.EnsureLoaded();
            using var probe = torch.zeros(1);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            Unavailable = e.Message;
            return false;
        }
    }

    private sealed class EagerCall(Tensor[] tensors, Func<Tensor[], object> op) : IDisposable
    {
        public void Run() => op(tensors);
        public void Dispose() { foreach (var t in tensors) t.Dispose(); }
    }

    private static EagerCall? Inputs(KernelCase c) => c switch
    {
        MatVecFloat32Case m => new([torch.tensor(m.Weights).reshape(m.Rows, m.Cols), torch.tensor(m.X)],
            t => nn.functional.linear(t[1], t[0])),
        MatVecBFloat16Case m => new([BFloat16(m.Weights).reshape(m.Rows, m.Cols), torch.tensor(m.X).to(ScalarType.BFloat16)],
            t => nn.functional.linear(t[1], t[0])),
        MatVecFloat16Case m => new([torch.tensor(Array.ConvertAll(m.Weights, b => (float)BitConverter.UInt16BitsToHalf(b))).to(ScalarType.Float16).reshape(m.Rows, m.Cols),
                torch.tensor(m.X).to(ScalarType.Float16)], t => nn.functional.linear(t[1], t[0])),
        RmsNormCase r => new([torch.tensor(r.X), torch.tensor(r.Weight)],
            t => t[1] * (t[0] * torch.rsqrt(t[0].pow(2).mean([-1], keepdim: true) + r.Eps))),
        RotaryCase r => new([torch.tensor(r.X).reshape(r.Heads, r.HeadDim), Row(r.Cos, r.Position, r.HeadDim), Row(r.Sin, r.Position, r.HeadDim)],
            t => t[0] * t[1] + RotateHalf(t[0]) * t[2]),
        SwiGluCase s => new([torch.tensor(s.Gate), torch.tensor(s.Up)], t => nn.functional.silu(t[0]) * t[1]),
        DecodeAttentionCase a => new(
            [
                torch.tensor(a.Q).reshape(a.Heads, 1, a.HeadDim),
                torch.tensor(a.Keys).reshape(a.KvHeads, a.Capacity, a.HeadDim),
                torch.tensor(a.Values).reshape(a.KvHeads, a.Capacity, a.HeadDim),
            ],
            t =>
            {
                int group = a.Heads / a.KvHeads;
                var k = t[1].narrow(1, 0, a.Length).repeat_interleave(group, 0);
                var v = t[2].narrow(1, 0, a.Length).repeat_interleave(group, 0);
                var p = (torch.matmul(t[0], k.transpose(1, 2)) / Math.Sqrt(a.HeadDim)).softmax(-1);
                return torch.matmul(p, v);
            }),
        TopKCase k => new([torch.tensor(k.Scores).reshape(k.KvHeads, k.Length), torch.tensor(k.Protected)],
            t => t[0].masked_fill(t[1], float.PositiveInfinity).topk(k.K, dim: -1).indexes.sort(-1)),
        _ => null,
    };

    private static Tensor BFloat16(ushort[] bits) =>
        torch.tensor(Array.ConvertAll(bits, TimeBill.Kernels.BFloat16Bits.ToSingle)).to(ScalarType.BFloat16);

    /// <summary>Hugging Face's cos/sin row for one position: [HeadDim], the half-table repeated.</summary>
    private static Tensor Row(float[] table, int position, int headDim)
    {
        var half = table.AsSpan(position * headDim / 2, headDim / 2).ToArray();
        return torch.tensor([.. half, .. half]);
    }

    private static Tensor RotateHalf(Tensor x)
    {
        var halves = x.chunk(2, -1);
        return torch.cat([-halves[1], halves[0]], -1);
    }
}
