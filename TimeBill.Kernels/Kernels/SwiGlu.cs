using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>SwiGLU: output = silu(gate) · up, with silu(g) = g / (1 + e^(−g)). <c>output</c> may be <c>gate</c> or <c>up</c>.</summary>
internal static class SwiGlu
{
    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.Lanes, KernelVariant.WidestAcceleratedWidth);

    /// <summary>Computes silu(<paramref name="gate"/>) · <paramref name="up"/> into <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Apply(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output, KernelVariant? variant = null)
    {
        if (up.Length != gate.Length) throw new ArgumentException($"up holds {up.Length} elements, gate {gate.Length}.", nameof(up));
        if (output.Length != gate.Length) throw new ArgumentException($"output holds {output.Length} elements, gate {gate.Length}.", nameof(output));
        if (gate.IsEmpty) return;
        var v = variant ?? DefaultVariant;
        if (v.Algorithm == KernelVariant.TensorPrimitives)
        {
            // In chunks through a stack buffer: each chunk's inputs are read before its output is written.
            Span<float> sigmoid = stackalloc float[256];
            for (int start = 0; start < gate.Length; start += sigmoid.Length)
            {
                int n = Math.Min(sigmoid.Length, gate.Length - start);
                var s = sigmoid[..n];
                TensorPrimitives.Sigmoid(gate.Slice(start, n), s);
                TensorPrimitives.Multiply(s, gate.Slice(start, n), s);
                TensorPrimitives.Multiply(s, up.Slice(start, n), output.Slice(start, n));
            }
            return;
        }
        switch (v.VectorWidth)
        {
            case 128: Lanes<Lanes128, Vector128<float>>(gate, up, output); break;
            case 512: Lanes<Lanes512, Vector512<float>>(gate, up, output); break;
            default: Lanes<Lanes256, Vector256<float>>(gate, up, output); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lanes<TL, TV>(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output)
        where TL : IFloatLanes<TV> where TV : struct
    {
        ref float g = ref Unsafe.AsRef(in gate[0]);
        ref float u = ref Unsafe.AsRef(in up[0]);
        ref float o = ref output[0];
        var one = TL.Broadcast(1f);
        int n = gate.Length, i = 0;
        for (; i + TL.Count <= n; i += TL.Count)
        {
            var gv = TL.Load(ref Unsafe.Add(ref g, i));
            var silu = TL.Divide(gv, TL.Add(one, TL.Exp(TL.Subtract(TL.Zero, gv))));
            TL.Store(TL.Multiply(silu, TL.Load(ref Unsafe.Add(ref u, i))), ref Unsafe.Add(ref o, i));
        }
        for (; i < n; i++) output[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }
}
