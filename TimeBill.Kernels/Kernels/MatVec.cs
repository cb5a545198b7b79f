using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TimeBill.Kernels;

/// <summary>
/// Matrix-vector product y = W x for a row-major W [rows, cols], with float32, bfloat16 or float16 weights and float32
/// accumulation. Every <see cref="KernelVariant"/> (vector width, rows per iteration, unroll, threads) is a
/// distinct specialised implementation; <see cref="KernelVariant.SpreadRows"/> only changes which rows an iteration
/// takes, and <see cref="KernelVariant.PrefetchDistance"/> adds one software prefetch per weight row and cache line.
/// None allocates.
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>The variant used when no tuning table says otherwise.</summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.Lanes, KernelVariant.WidestAcceleratedWidth, RowsPerIteration: 4, SpreadRows: true);

    /// <summary>y = W x with float32 weights.</summary>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="rows"/> and <paramref name="cols"/>.</exception>
    public static void Float32(ReadOnlySpan<float> weights, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, KernelVariant? variant = null)
    {
        CheckShapes(weights.Length, rows, cols, x.Length, y.Length);
        fixed (float* w = weights)
            Run<float, Float32Weights>(w, rows, cols, x, y, variant ?? DefaultVariant);
    }

    /// <summary>y = W x with bfloat16 weights given as raw bits (see <see cref="BFloat16Bits"/>), accumulated in float32.</summary>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="rows"/> and <paramref name="cols"/>.</exception>
    public static void BFloat16(ReadOnlySpan<ushort> weights, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, KernelVariant? variant = null)
    {
        CheckShapes(weights.Length, rows, cols, x.Length, y.Length);
        fixed (ushort* w = weights)
            Run<ushort, BFloat16Weights>(w, rows, cols, x, y, variant ?? DefaultVariant);
    }

    /// <summary>y = W x with IEEE float16 weights given as raw bits (ggml's F16), widened exactly and accumulated in float32.</summary>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="rows"/> and <paramref name="cols"/>.</exception>
    public static void Float16(ReadOnlySpan<ushort> weights, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, KernelVariant? variant = null)
    {
        CheckShapes(weights.Length, rows, cols, x.Length, y.Length);
        fixed (ushort* w = weights)
            Run<ushort, Float16Weights>(w, rows, cols, x, y, variant ?? DefaultVariant);
    }

    private static void CheckShapes(int weights, int rows, int cols, int x, int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if (weights != (long)rows * cols)
            throw new ArgumentException($"Weights hold {weights} elements; [{rows}, {cols}] needs {(long)rows * cols}.", nameof(weights));
        if (x != cols) throw new ArgumentException($"x holds {x} elements; the matrix has {cols} columns.", nameof(x));
        if (y != rows) throw new ArgumentException($"y holds {y} elements; the matrix has {rows} rows.", nameof(y));
    }

    private struct Args
    {
        public void* W;
        public float* X;
        public float* Y;
        public int Cols;
        public bool SpreadRows;
        public int PrefetchElements;
    }

    private const int MaxStackColumns = 8192;

    private static void Run<TW, TF>(void* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, KernelVariant variant)
        where TW : unmanaged where TF : IWeightFormat<TW>
    {
        if (TF.PermutedInput)
        {
            float[]? rented = cols > MaxStackColumns ? System.Buffers.ArrayPool<float>.Shared.Rent(cols) : null;
            Span<float> permuted = rented is null ? stackalloc float[cols] : rented.AsSpan(0, cols);
            int lanes = variant.VectorWidth switch { 128 => 4, 512 => 16, _ => 8 };
            Permute(x, permuted, lanes);
            RunOn<TW, TF>(w, rows, cols, permuted, y, variant);
            if (rented is not null) System.Buffers.ArrayPool<float>.Shared.Return(rented);
            return;
        }
        RunOn<TW, TF>(w, rows, cols, x, y, variant);
    }

    /// <summary>Reorders each chunk of 2·<paramref name="lanes"/> values into <see cref="BFloat16Order"/>; the tail stays in order.</summary>
    private static void Permute(ReadOnlySpan<float> x, Span<float> permuted, int lanes)
    {
        int chunk = 2 * lanes, start = 0;
        for (; start + chunk <= x.Length; start += chunk)
            for (int lane = 0; lane < lanes; lane++)
            {
                permuted[start + lane] = x[start + BFloat16Order.Source(lane, upper: false)];
                permuted[start + lanes + lane] = x[start + BFloat16Order.Source(lane, upper: true)];
            }
        x[start..].CopyTo(permuted[start..]);
    }

    private static void RunOn<TW, TF>(void* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, KernelVariant variant)
        where TW : unmanaged where TF : IWeightFormat<TW>
    {
        fixed (float* px = x, py = y)
        {
            var args = new Args
            {
                W = w, X = px, Y = py, Cols = cols, SpreadRows = variant.SpreadRows,
                PrefetchElements = Math.Max(0, variant.PrefetchDistance) / sizeof(TW),
            };
            var body = variant.VectorWidth switch
            {
                128 => Select<TW, TF, Lanes128, Vector128<float>>(variant),
                512 => Select<TW, TF, Lanes512, Vector512<float>>(variant),
                _ => Select<TW, TF, Lanes256, Vector256<float>>(variant),
            };
            KernelThreads.For(rows, variant.Threads, body, &args);
        }
    }

    private static delegate*<void*, int, int, void> Select<TW, TF, TL, TV>(KernelVariant variant)
        where TW : unmanaged where TF : IWeightFormat<TW> where TL : IFloatLanes<TV> where TV : struct =>
        variant.PrefetchDistance > 0 && Sse.IsSupported
            ? Select<TW, TF, TL, TV, Prefetching>(variant)
            : Select<TW, TF, TL, TV, NotPrefetching>(variant);

    private static delegate*<void*, int, int, void> Select<TW, TF, TL, TV, TP>(KernelVariant variant)
        where TW : unmanaged where TF : IWeightFormat<TW> where TL : IFloatLanes<TV> where TV : struct where TP : IPrefetch =>
        (variant.RowsPerIteration, variant.Unroll) switch
        {
            (4, 2) => &Rows<TW, TF, TL, TV, Four, Two, TP>,
            (4, _) => &Rows<TW, TF, TL, TV, Four, One, TP>,
            (2, 2) => &Rows<TW, TF, TL, TV, Two, Two, TP>,
            (2, _) => &Rows<TW, TF, TL, TV, Two, One, TP>,
            (_, 2) => &Rows<TW, TF, TL, TV, One, Two, TP>,
            _ => &Rows<TW, TF, TL, TV, One, One, TP>,
        };

    /// <summary>Whether a kernel issues software prefetches (a compile-time switch, so the other kind pays nothing).</summary>
    private interface IPrefetch
    {
        static abstract bool Enabled { get; }
    }

    private readonly struct Prefetching : IPrefetch { public static bool Enabled => true; }
    private readonly struct NotPrefetching : IPrefetch { public static bool Enabled => false; }

    // Optimised at first call (no tiering): neither a first decode step nor a short timing runs tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TW, TF, TL, TV, TRows, TUnroll, TP>(void* state, int start, int end)
        where TW : unmanaged where TF : IWeightFormat<TW> where TL : IFloatLanes<TV> where TV : struct
        where TRows : ICompileTimeConstant where TUnroll : ICompileTimeConstant where TP : IPrefetch
    {
        ref Args args = ref Unsafe.AsRef<Args>(state);
        int row = start;
        if (TRows.Value > 1 && args.SpreadRows)
        {
            // One row from each of TRows equal stretches of [start, end) per iteration: TRows weight streams in flight.
            int stretch = (end - start) / TRows.Value;
            for (int i = 0; i < stretch; i++)
                Block<TW, TF, TL, TV, TRows, TUnroll, TP>(ref args, start + i, stretch);
            row = start + TRows.Value * stretch;
        }
        else
        {
            for (; row + TRows.Value <= end; row += TRows.Value)
                Block<TW, TF, TL, TV, TRows, TUnroll, TP>(ref args, row, 1);
        }
        for (; row < end; row++)
            Block<TW, TF, TL, TV, One, TUnroll, TP>(ref args, row, 1);
    }

    /// <summary>
    /// TRows rows, <paramref name="stride"/> rows apart (1: consecutive); each x load is shared by the rows. Per row,
    /// TUnroll steps are in flight, each with its own pair of accumulators (see <see cref="IWeightFormat{TWeight}.Accumulate"/>).
    /// When TP prefetches, each row's cache line <c>PrefetchElements</c> ahead is requested as a step starts a line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block<TW, TF, TL, TV, TRows, TUnroll, TP>(ref Args args, int row, int stride)
        where TW : unmanaged where TF : IWeightFormat<TW> where TL : IFloatLanes<TV> where TV : struct
        where TRows : ICompileTimeConstant where TUnroll : ICompileTimeConstant where TP : IPrefetch
    {
        int cols = args.Cols, step = TF.Step<TL, TV>();
        ref float x = ref *args.X;
        ref TW w0 = ref Unsafe.Add(ref *(TW*)args.W, (nint)row * cols);
        nint rowStep = (nint)stride * cols;
        ref TW w1 = ref Unsafe.Add(ref w0, TRows.Value > 1 ? rowStep : 0);
        ref TW w2 = ref Unsafe.Add(ref w0, TRows.Value > 2 ? 2 * rowStep : 0);
        ref TW w3 = ref Unsafe.Add(ref w0, TRows.Value > 2 ? 3 * rowStep : 0);
        // a/b: the first step's pair of accumulators per row; c/d: the second step's when unrolled.
        TV a0 = TL.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        TV c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        int c = 0;
        if (TUnroll.Value == 2)
        {
            for (; c + 2 * step <= cols; c += 2 * step)
            {
                if (TP.Enabled) Prefetch<TW, TRows>(ref args, ref w0, ref w1, ref w2, ref w3, c, 2 * step);
                int e = c + step;
                TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w0, c), ref Unsafe.Add(ref x, c), ref a0, ref b0);
                TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w0, e), ref Unsafe.Add(ref x, e), ref c0, ref d0);
                if (TRows.Value > 1)
                {
                    TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w1, c), ref Unsafe.Add(ref x, c), ref a1, ref b1);
                    TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w1, e), ref Unsafe.Add(ref x, e), ref c1, ref d1);
                }
                if (TRows.Value > 2)
                {
                    TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w2, c), ref Unsafe.Add(ref x, c), ref a2, ref b2);
                    TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w2, e), ref Unsafe.Add(ref x, e), ref c2, ref d2);
                    TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w3, c), ref Unsafe.Add(ref x, c), ref a3, ref b3);
                    TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w3, e), ref Unsafe.Add(ref x, e), ref c3, ref d3);
                }
            }
        }
        for (; c + step <= cols; c += step)
        {
            if (TP.Enabled) Prefetch<TW, TRows>(ref args, ref w0, ref w1, ref w2, ref w3, c, step);
            TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w0, c), ref Unsafe.Add(ref x, c), ref a0, ref b0);
            if (TRows.Value > 1) TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w1, c), ref Unsafe.Add(ref x, c), ref a1, ref b1);
            if (TRows.Value > 2)
            {
                TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w2, c), ref Unsafe.Add(ref x, c), ref a2, ref b2);
                TF.Accumulate<TL, TV>(ref Unsafe.Add(ref w3, c), ref Unsafe.Add(ref x, c), ref a3, ref b3);
            }
        }
        float s0 = TL.Sum(TL.Add(TL.Add(a0, b0), TL.Add(c0, d0))), s1 = TL.Sum(TL.Add(TL.Add(a1, b1), TL.Add(c1, d1)));
        float s2 = TL.Sum(TL.Add(TL.Add(a2, b2), TL.Add(c2, d2))), s3 = TL.Sum(TL.Add(TL.Add(a3, b3), TL.Add(c3, d3)));
        for (; c < cols; c++)
        {
            float xc = Unsafe.Add(ref x, c);
            s0 += TF.ToSingle(Unsafe.Add(ref w0, c)) * xc;
            if (TRows.Value > 1) s1 += TF.ToSingle(Unsafe.Add(ref w1, c)) * xc;
            if (TRows.Value > 2)
            {
                s2 += TF.ToSingle(Unsafe.Add(ref w2, c)) * xc;
                s3 += TF.ToSingle(Unsafe.Add(ref w3, c)) * xc;
            }
        }
        float* y = args.Y + row;
        y[0] = s0;
        if (TRows.Value > 1) y[stride] = s1;
        if (TRows.Value > 2) { y[2 * stride] = s2; y[3 * stride] = s3; }
    }

    /// <summary>
    /// Prefetches each of the TRows rows' cache line <c>PrefetchElements</c> past column <paramref name="c"/> when
    /// the <paramref name="width"/> elements from <paramref name="c"/> start a new line (a prefetch never faults, so
    /// running past a row's end is harmless).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch<TW, TRows>(ref Args args, ref TW w0, ref TW w1, ref TW w2, ref TW w3, int c, int width)
        where TW : unmanaged where TRows : ICompileTimeConstant
    {
        int line = CacheLineBytes / sizeof(TW);
        if (width < line && c % line != 0) return;
        int ahead = c + args.PrefetchElements;
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref w0, ahead)));
        if (TRows.Value > 1) Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref w1, ahead)));
        if (TRows.Value > 2)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref w2, ahead)));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref w3, ahead)));
        }
    }

    private const int CacheLineBytes = 64;
}
