using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TimeBill.Kernels;

/// <summary>
/// e^x in single precision on SIMD registers: Cephes' <c>expf</c> (x = n·ln 2 + r with |r| ≤ ½ ln 2, a degree-6
/// polynomial for e^r, 2^n put straight into the exponent bits), within about 2 ulp for x in [−87.3, 88]; inputs
/// beyond are clamped there (e^−87.3 is the smallest normal float, e^88 ≈ 1.7e38), NaN stays NaN. The runtime's
/// <c>Vector256.Exp</c> widens to double for the last ulp and is a call per register, which made SwiGLU slower than
/// libtorch's eager operators.
/// </summary>
internal static class SingleExp
{
    private const float Low = -87.33654f, High = 88f, Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /// <summary>Through the 256-bit form (the lanes above the input's are ignored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x) => Exp(x.ToVector256()).GetLower();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var c = Vector256.Min(Vector256.Max(x, Vector256.Create(Low)), Vector256.Create(High));
        var n = Vector256.Floor(Vector256.MultiplyAddEstimate(c, Vector256.Create(Log2E), Vector256.Create(0.5f)));
        var r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2High), c);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Low), r);
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P2));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P3));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P4));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P5));
        p = Vector256.MultiplyAddEstimate(p, r * r, r + Vector256<float>.One);
        var scale = ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), p * scale, x);
    }

    /// <summary>As two 256-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => Vector512.Create(Exp(x.GetLower()), Exp(x.GetUpper()));
}
