using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>RMSNorm: y = x / sqrt(mean(x²) + eps) · weight. <c>y</c> may be <c>x</c> (in place).</summary>
internal static class RmsNorm
{
    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.Lanes, KernelVariant.WidestAcceleratedWidth);

    /// <summary>Normalises <paramref name="x"/> into <paramref name="y"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, KernelVariant? variant = null)
    {
        if (x.IsEmpty) throw new ArgumentException("x is empty.", nameof(x));
        if (weight.Length != x.Length) throw new ArgumentException($"weight holds {weight.Length} elements, x {x.Length}.", nameof(weight));
        if (y.Length != x.Length) throw new ArgumentException($"y holds {y.Length} elements, x {x.Length}.", nameof(y));
        var v = variant ?? DefaultVariant;
        if (v.Algorithm == KernelVariant.TensorPrimitives)
        {
            float scale = Scale(TensorPrimitives.SumOfSquares(x), x.Length, eps);
            TensorPrimitives.Multiply(x, scale, y);
            TensorPrimitives.Multiply(y, weight, y);
            return;
        }
        switch (v.VectorWidth)
        {
            case 128: Lanes<Lanes128, Vector128<float>>(x, weight, eps, y); break;
            case 512: Lanes<Lanes512, Vector512<float>>(x, weight, eps, y); break;
            default: Lanes<Lanes256, Vector256<float>>(x, weight, eps, y); break;
        }
    }

    private static float Scale(float sumOfSquares, int n, float eps) => 1f / MathF.Sqrt(sumOfSquares / n + eps);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lanes<TL, TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
        where TL : IFloatLanes<TV> where TV : struct
    {
        ref float xs = ref Unsafe.AsRef(in x[0]);
        ref float ws = ref Unsafe.AsRef(in weight[0]);
        ref float ys = ref y[0];
        int n = x.Length, i = 0;
        TV acc = TL.Zero;
        for (; i + TL.Count <= n; i += TL.Count)
        {
            var v = TL.Load(ref Unsafe.Add(ref xs, i));
            acc = TL.MultiplyAdd(v, v, acc);
        }
        float sum = TL.Sum(acc);
        for (; i < n; i++) sum += x[i] * x[i];
        float scale = Scale(sum, n, eps);
        var s = TL.Broadcast(scale);
        for (i = 0; i + TL.Count <= n; i += TL.Count)
            TL.Store(TL.Multiply(TL.Multiply(TL.Load(ref Unsafe.Add(ref xs, i)), s), TL.Load(ref Unsafe.Add(ref ws, i))), ref Unsafe.Add(ref ys, i));
        for (; i < n; i++) y[i] = x[i] * scale * weight[i];
    }
}
