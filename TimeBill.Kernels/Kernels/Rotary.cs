using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>
/// Rotary position embedding in the Hugging Face "rotate half" layout: within each head of dimension d, element
/// i pairs with element i + d/2. The cos/sin tables are [positions, d/2]. <c>y</c> may be <c>x</c> (in place).
/// </summary>
internal static class Rotary
{
    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.Lanes, KernelVariant.WidestAcceleratedWidth);

    /// <summary>Rotates every head of <paramref name="x"/> [heads, headDim] by the angles of <paramref name="position"/>.</summary>
    /// <exception cref="ArgumentException">A span or dimension does not fit the others.</exception>
    public static void Apply(ReadOnlySpan<float> x, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, int position, Span<float> y, KernelVariant? variant = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        if (headDim % 2 != 0) throw new ArgumentException($"headDim {headDim} is odd; rotate-half needs pairs.", nameof(headDim));
        if (x.Length != heads * headDim) throw new ArgumentException($"x holds {x.Length} elements; [{heads}, {headDim}] needs {heads * headDim}.", nameof(x));
        if (y.Length != x.Length) throw new ArgumentException($"y holds {y.Length} elements, x {x.Length}.", nameof(y));
        int half = headDim / 2;
        if (cos.Length % half != 0 || cos.Length != sin.Length)
            throw new ArgumentException($"cos/sin hold {cos.Length}/{sin.Length} elements; both must be [positions, {half}].", nameof(cos));
        if ((uint)position >= (uint)(cos.Length / half))
            throw new ArgumentOutOfRangeException(nameof(position), position, $"The tables cover positions 0..{cos.Length / half - 1}.");
        var c = cos.Slice(position * half, half);
        var s = sin.Slice(position * half, half);
        switch ((variant ?? DefaultVariant).VectorWidth)
        {
            case 128: Lanes<Lanes128, Vector128<float>>(x, heads, half, c, s, y); break;
            case 512: Lanes<Lanes512, Vector512<float>>(x, heads, half, c, s, y); break;
            default: Lanes<Lanes256, Vector256<float>>(x, heads, half, c, s, y); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lanes<TL, TV>(ReadOnlySpan<float> x, int heads, int half, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y)
        where TL : IFloatLanes<TV> where TV : struct
    {
        ref float c = ref Unsafe.AsRef(in cos[0]);
        ref float s = ref Unsafe.AsRef(in sin[0]);
        for (int h = 0; h < heads; h++)
        {
            ref float x1 = ref Unsafe.AsRef(in x[h * 2 * half]);
            ref float x2 = ref Unsafe.Add(ref x1, half);
            ref float y1 = ref y[h * 2 * half];
            ref float y2 = ref Unsafe.Add(ref y1, half);
            int i = 0;
            for (; i + TL.Count <= half; i += TL.Count)
            {
                TV a = TL.Load(ref Unsafe.Add(ref x1, i)), b = TL.Load(ref Unsafe.Add(ref x2, i));
                TV cv = TL.Load(ref Unsafe.Add(ref c, i)), sv = TL.Load(ref Unsafe.Add(ref s, i));
                TL.Store(TL.Subtract(TL.Multiply(a, cv), TL.Multiply(b, sv)), ref Unsafe.Add(ref y1, i));
                TL.Store(TL.MultiplyAdd(b, cv, TL.Multiply(a, sv)), ref Unsafe.Add(ref y2, i));
            }
            for (; i < half; i++)
            {
                float a = Unsafe.Add(ref x1, i), b = Unsafe.Add(ref x2, i);
                Unsafe.Add(ref y1, i) = a * cos[i] - b * sin[i];
                Unsafe.Add(ref y2, i) = b * cos[i] + a * sin[i];
            }
        }
    }
}
