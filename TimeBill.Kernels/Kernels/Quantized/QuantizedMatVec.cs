using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TimeBill.Kernels.Quantized;

/// <summary>
/// y = W x for a row-major W [rows, cols] kept in a ggml block format (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), two ways:
/// <see cref="KernelVariant.Int8Dot"/> quantizes x to 8 bits as llama.cpp does (Q8_0 blocks for Q8_0/Q4_0 weights,
/// Q8_K for the K-quants) and takes integer dot products per block; <see cref="KernelVariant.DequantizedFloat"/>
/// decodes each weight block to float32 on the fly against the float x (the accurate path). Rows are split across
/// threads like <see cref="MatVec"/>; nothing allocates.
/// </summary>
internal static unsafe class QuantizedMatVec
{
    /// <summary>
    /// The variant used when no tuning table says otherwise: integer dot products on AVX-VNNI where the processor has it
    /// (one vpdpbusd per 32 columns beats AVX-512BW's vpmaddubsw + vpmaddwd pair), else at the widest width, each row
    /// asking for the lines <see cref="DefaultPrefetchDistance"/> bytes on.
    /// </summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.Int8Dot, AvxVnniDot.IsSupported ? 256 : KernelVariant.WidestAcceleratedWidth,
        PrefetchDistance: DefaultPrefetchDistance);

    /// <summary>
    /// Bytes ahead of a row that the integer products prefetch: the hardware prefetcher alone left the block products
    /// at half the speed from memory that they reach from L2.
    /// </summary>
    public const int DefaultPrefetchDistance = 4096;

    /// <summary>The block formats with a quantized product here (and in <see cref="QuantizedMatMul"/>).</summary>
    public static IReadOnlyList<GgmlType> Formats { get; } = [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    /// <summary>Whether <paramref name="type"/> has a quantized product here (one of <see cref="Formats"/>).</summary>
    public static bool IsSupported(GgmlType type) => Formats.Contains(type);

    /// <summary>The block format x is quantized to for weights of <paramref name="type"/>: Q8_0 or Q8_K.</summary>
    /// <exception cref="ArgumentException">The type has no quantized product.</exception>
    public static GgmlType ActivationType(GgmlType type) => type switch
    {
        GgmlType.Q8_0 or GgmlType.Q4_0 => GgmlType.Q8_0,
        GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => GgmlType.Q8_K,
        _ => throw new ArgumentException($"No quantized matrix-vector product for {GgmlTypeInfo.Of(type).Name}.", nameof(type)),
    };

    /// <summary>Bytes of the quantized x that <see cref="Multiply"/> needs as scratch for <paramref name="cols"/> columns.</summary>
    /// <exception cref="ArgumentException">The type has no quantized product or cols is not whole blocks.</exception>
    public static int ActivationBytes(GgmlType type, int cols) => GgmlTypeInfo.Of(ActivationType(type)).RowBytes(cols);

    /// <summary>Quantizes x into <see cref="ActivationType"/> blocks, once for every matrix that multiplies the same x.</summary>
    /// <exception cref="ArgumentException">The type has no quantized product, or a length is wrong.</exception>
    public static void QuantizeActivation(GgmlType type, ReadOnlySpan<float> x, Span<byte> quantized) =>
        GgmlQuantization.Quantize(ActivationType(type), x, quantized);

    /// <summary>
    /// y = W x. The <see cref="KernelVariant.Int8Dot"/> path quantizes x into <paramref name="scratch"/>
    /// (<see cref="ActivationBytes"/> long); the float path ignores it (pass an empty span).
    /// </summary>
    /// <exception cref="ArgumentException">Unsupported type, cols not whole blocks, or a span's length does not match.</exception>
    public static void Multiply(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<float> x, Span<float> y,
        Span<byte> scratch, KernelVariant? variant = null)
    {
        var v = variant ?? DefaultVariant;
        if (v.Algorithm != KernelVariant.Int8Dot)
        {
            MultiplyFloat(type, weights, rows, cols, x, y, v.VectorWidth, v.Threads);
            return;
        }
        if (x.Length != cols) throw new ArgumentException($"x holds {x.Length} elements; the matrix has {cols} columns.", nameof(x));
        int bytes = ActivationBytes(type, cols);
        if (scratch.Length < bytes)
            throw new ArgumentException($"Scratch holds {scratch.Length} bytes; quantizing {cols} columns for {GgmlTypeInfo.Of(type).Name} needs {bytes}.", nameof(scratch));
        QuantizeActivation(type, x, scratch[..bytes]);
        MultiplyQuantized(type, weights, rows, cols, scratch[..bytes], y, v);
    }

    /// <summary>y = W x̂ with x̂ already quantized by <see cref="QuantizeActivation"/>.</summary>
    /// <exception cref="ArgumentException">Unsupported type, cols not whole blocks, or a span's length does not match.</exception>
    public static void MultiplyQuantized(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<byte> quantizedX,
        Span<float> y, KernelVariant? variant = null)
    {
        var v = variant ?? DefaultVariant;
        MultiplyInt8(type, weights, rows, cols, quantizedX, y, IsaFor(v.VectorWidth), v.Threads, v.PrefetchDistance);
    }

    /// <summary>The integer engine a width selects on this machine: 512 AVX-512BW, 256 AVX-VNNI or AVX2, else portable.</summary>
    internal static Int8Isa IsaFor(int width) => width switch
    {
        512 when Avx512BWDot.IsSupported => Int8Isa.Avx512BW,
        512 or 256 when AvxVnniDot.IsSupported => Int8Isa.AvxVnni,
        512 or 256 when Avx2Dot.IsSupported => Int8Isa.Avx2,
        _ => Int8Isa.Portable,
    };

    /// <summary>Whether this machine can run <paramref name="isa"/>.</summary>
    internal static bool IsSupported(Int8Isa isa) => isa switch
    {
        Int8Isa.Avx512BW => Avx512BWDot.IsSupported,
        Int8Isa.AvxVnni => AvxVnniDot.IsSupported,
        Int8Isa.Avx2 => Avx2Dot.IsSupported,
        _ => true,
    };

    private struct Args
    {
        public byte* W;
        public void* X;
        public float* Y;
        public int RowBytes;
        public int Blocks;
        public int PrefetchBytes;
    }

    /// <summary>
    /// y = W x̂ on <paramref name="isa"/>; with <paramref name="prefetchBytes"/> above 0 each row first prefetches its own
    /// span that many bytes on (rows are contiguous, so that is the stream ahead; the four-row Q4_0 kernel prefetches its own).
    /// </summary>
    internal static void MultiplyInt8(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<byte> quantizedX,
        Span<float> y, Int8Isa isa, int threads, int prefetchBytes = 0)
    {
        var info = CheckShapes(type, weights.Length, rows, cols, y.Length);
        int activation = ActivationBytes(type, cols);
        if (quantizedX.Length != activation)
            throw new ArgumentException($"The quantized x holds {quantizedX.Length} bytes; {cols} columns of {GgmlTypeInfo.Of(ActivationType(type)).Name} take {activation}.", nameof(quantizedX));
        if (!IsSupported(isa)) throw new ArgumentException($"This machine cannot run {isa}.", nameof(isa));
        var body = type switch
        {
            GgmlType.Q4_0 when isa == Int8Isa.AvxVnni => &Q4_0FourRows,
            GgmlType.Q8_0 => SelectInt8<Q8_0Format>(isa),
            GgmlType.Q4_0 => SelectInt8<Q4_0Format>(isa),
            GgmlType.Q4_K => SelectInt8<Q4_KFormat>(isa),
            GgmlType.Q5_K => SelectInt8<Q5_KFormat>(isa),
            _ => SelectInt8<Q6_KFormat>(isa),
        };
        fixed (byte* w = weights, x = quantizedX)
        fixed (float* py = y)
        {
            var args = new Args { W = w, X = x, Y = py, RowBytes = info.RowBytes(cols), Blocks = info.Blocks(cols), PrefetchBytes = Math.Max(0, prefetchBytes) };
            KernelThreads.For(rows, threads, body, &args);
        }
    }

    internal static void MultiplyFloat(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<float> x,
        Span<float> y, int width, int threads)
    {
        var info = CheckShapes(type, weights.Length, rows, cols, y.Length);
        if (x.Length != cols) throw new ArgumentException($"x holds {x.Length} elements; the matrix has {cols} columns.", nameof(x));
        var body = type switch
        {
            GgmlType.Q8_0 => SelectFloat<Q8_0Format>(width),
            GgmlType.Q4_0 => SelectFloat<Q4_0Format>(width),
            GgmlType.Q4_K => SelectFloat<Q4_KFormat>(width),
            GgmlType.Q5_K => SelectFloat<Q5_KFormat>(width),
            _ => SelectFloat<Q6_KFormat>(width),
        };
        fixed (byte* w = weights)
        fixed (float* px = x, py = y)
        {
            var args = new Args { W = w, X = px, Y = py, RowBytes = info.RowBytes(cols), Blocks = info.Blocks(cols) };
            KernelThreads.For(rows, threads, body, &args);
        }
    }

    private static GgmlTypeInfo CheckShapes(GgmlType type, int weights, int rows, int cols, int y)
    {
        if (!IsSupported(type))
            throw new ArgumentException($"No quantized matrix-vector product for {GgmlTypeInfo.Of(type).Name}; supported: q8_0, q4_0, q4_K, q5_K, q6_K.", nameof(type));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        var info = GgmlTypeInfo.Of(type);
        long bytes = info.MatrixBytes(rows, cols);
        if (weights != bytes)
            throw new ArgumentException($"Weights hold {weights} bytes; [{rows}, {cols}] in {info.Name} needs {bytes}.", nameof(weights));
        if (y != rows) throw new ArgumentException($"y holds {y} elements; the matrix has {rows} rows.", nameof(y));
        return info;
    }

    private static delegate*<void*, int, int, void> SelectInt8<TF>(Int8Isa isa) where TF : IQuantFormat => isa switch
    {
        Int8Isa.Avx512BW => &Int8Rows<TF, Avx512BWDot, Vector512<float>>,
        Int8Isa.AvxVnni => &Int8Rows<TF, AvxVnniDot, FloatPair256>,
        Int8Isa.Avx2 => &Int8Rows<TF, Avx2Dot, FloatPair256>,
        _ => &Int8Rows<TF, PortableDot, FloatPair256>,
    };

    private static delegate*<void*, int, int, void> SelectFloat<TF>(int width) where TF : IQuantFormat => width switch
    {
        128 => &FloatRows<TF, Lanes128, Vector128<float>>,
        512 => &FloatRows<TF, Lanes512, Vector512<float>>,
        _ => &FloatRows<TF, Lanes256, Vector256<float>>,
    };

    // Optimised at first call (no tiering), as MatVec's kernels.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8Rows<TF, TE, TAcc>(void* state, int start, int end)
        where TF : IQuantFormat where TE : IInt8Dot<TAcc> where TAcc : struct
    {
        ref Args args = ref Unsafe.AsRef<Args>(state);
        for (int r = start; r < end; r++)
        {
            byte* w = args.W + (nint)r * args.RowBytes;
            if (args.PrefetchBytes > 0 && Sse.IsSupported)
                for (int line = 0; line < args.RowBytes; line += 64) Sse.Prefetch0(w + args.PrefetchBytes + line);
            args.Y[r] = TF.DotInt8<TE, TAcc>(w, (byte*)args.X, args.Blocks);
        }
    }

    /// <summary>Each weight block is decoded into a stack buffer (L1-resident) and multiplied with x at TL's width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FloatRows<TF, TL, TV>(void* state, int start, int end)
        where TF : IQuantFormat where TL : IFloatLanes<TV> where TV : struct
    {
        ref Args args = ref Unsafe.AsRef<Args>(state);
        float* block = stackalloc float[256];
        float* x = (float*)args.X;
        int size = TF.BlockSize, bytes = TF.BlockBytes, step = TL.Count;
        for (int r = start; r < end; r++)
        {
            byte* w = args.W + (nint)r * args.RowBytes;
            TV a = TL.Zero, b = TL.Zero;
            for (int blk = 0; blk < args.Blocks; blk++, w += bytes)
            {
                TF.Decode(w, block);
                float* xb = x + (nint)blk * size;
                for (int i = 0; i < size; i += 2 * step)
                {
                    a = TL.MultiplyAdd(TL.Load(ref block[i]), TL.Load(ref xb[i]), a);
                    b = TL.MultiplyAdd(TL.Load(ref block[i + step]), TL.Load(ref xb[i + step]), b);
                }
            }
            args.Y[r] = TL.Sum(TL.Add(a, b));
        }
    }

    /// <summary>
    /// Q4_0 against Q8_0 on AVX-VNNI, four rows at a time so that each activation block, its scale and its sum are read
    /// once for four rows. The nibbles go in unsigned (0–15) and each row's integer sum starts at −8·Σx, which
    /// subtracts the format's offset of 8 without the sign trick.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q4_0FourRows(void* state, int start, int end)
    {
        ref Args args = ref Unsafe.AsRef<Args>(state);
        var eights = Vector256.Create((byte)8);
        int r = start;
        for (; r + 4 <= end; r += 4)
        {
            byte* w0 = args.W + (nint)r * args.RowBytes, w1 = w0 + args.RowBytes, w2 = w1 + args.RowBytes, w3 = w2 + args.RowBytes;
            byte* x = (byte*)args.X;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int b = 0; b < args.Blocks; b++, w0 += 18, w1 += 18, w2 += 18, w3 += 18, x += 34)
            {
                Prefetch(w0, w1, w2, w3, 8 * args.RowBytes);
                var xs = Vector256.Load((sbyte*)(x + 2));
                var offset = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, eights, xs);
                float dx = QuantLoads.Half(x);
                a0 = Q4_0Row(a0, w0, xs, offset, dx);
                a1 = Q4_0Row(a1, w1, xs, offset, dx);
                a2 = Q4_0Row(a2, w2, xs, offset, dx);
                a3 = Q4_0Row(a3, w3, xs, offset, dx);
            }
            args.Y[r] = Vector256.Sum(a0);
            args.Y[r + 1] = Vector256.Sum(a1);
            args.Y[r + 2] = Vector256.Sum(a2);
            args.Y[r + 3] = Vector256.Sum(a3);
        }
        for (; r < end; r++)
            args.Y[r] = Q4_0Format.DotInt8<AvxVnniDot, FloatPair256>(args.W + (nint)r * args.RowBytes, (byte*)args.X, args.Blocks);
    }

    /// <summary>Four rows read side by side defeat the hardware prefetcher: each row asks for its place eight rows on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(byte* w0, byte* w1, byte* w2, byte* w3, int ahead)
    {
        if (!Sse.IsSupported) return;
        Sse.Prefetch0(w0 + ahead);
        Sse.Prefetch0(w1 + ahead);
        Sse.Prefetch0(w2 + ahead);
        Sse.Prefetch0(w3 + ahead);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q4_0Row(Vector256<float> acc, byte* w, Vector256<sbyte> xs, Vector256<int> offset, float dx)
    {
        var sum = AvxVnni.MultiplyWideningAndAdd(offset, Q4_0Format.Nibbles(w), xs);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum), Vector256.Create(QuantLoads.Half(w) * dx), acc);
    }
}
