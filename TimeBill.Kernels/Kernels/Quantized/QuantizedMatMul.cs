using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TimeBill.Kernels.Quantized;

/// <summary>
/// Y = X Wᵀ for T tokens X [T, cols] (float32) and W [rows, cols] kept in a ggml block format (Q8_0, Q4_0, Q4_K, Q5_K,
/// Q6_K): the prefill product over the blocks themselves. X is quantized to Q8_0 blocks as llama.cpp does; each group
/// of 8 weight rows is unpacked once into unsigned levels interleaved 4 bytes per row (so one AVX-VNNI vpdpbusd takes 4
/// columns of 8 rows against 4 broadcast activation bytes) with per-row scales s and offsets o (w = s·u − o), and then
/// multiplied with every token. Groups are split across threads; the scratch is native and freed before returning.
/// </summary>
internal static unsafe class QuantizedMatMul
{
    // Per 32 columns of a group: 8 rows × 32 levels, then scales and offsets of elements 0–15 and 16–31 (8 floats each).
    private const int GroupBlockBytes = 256 + 4 * 32;
    private const int TokenTile = 4;

    /// <summary>
    /// The variant used when no tuning table says otherwise: one thread (callers set theirs), and
    /// <see cref="KernelVariant.BlockSize"/> 1, which packs about 128 KiB of rows (within L2) per pass; larger block sizes
    /// pack that many groups of 8 rows.
    /// </summary>
    public static KernelVariant DefaultVariant => new(KernelVariant.Int8Dot, 256);

    /// <summary>Fewest tokens multiplied as a matrix product; fewer go token by token through <see cref="QuantizedMatVec"/> (and its activation format).</summary>
    public const int MinTokens = TokenTile;

    /// <summary>Whether this machine runs the product for <paramref name="type"/> (AVX-VNNI and a block format).</summary>
    public static bool IsSupported(GgmlType type) => AvxVnni.IsSupported && Fma.IsSupported && QuantizedMatVec.IsSupported(type);

    /// <summary>
    /// y[t·<paramref name="ldy"/> + r] = Σ_c W[r, c]·x[t·cols + c] for r &lt; rows and t &lt; tokens. Logical row r is
    /// stored row <paramref name="rowOrder"/>[r] when that is not empty (llama.cpp's permuted q/k heads).
    /// </summary>
    /// <exception cref="ArgumentException">An unsupported type or machine, cols not whole blocks, or a span's length does not match.</exception>
    public static void Multiply(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<float> x, int tokens,
        Span<float> y, int ldy, KernelVariant? variant = null, ReadOnlySpan<int> rowOrder = default)
    {
        var v = variant ?? DefaultVariant;
        int threads = v.Threads;
        if (!IsSupported(type))
            throw new ArgumentException($"No quantized matrix product for {GgmlTypeInfo.Of(type).Name} on this machine (it needs AVX-VNNI and one of q8_0, q4_0, q4_K, q5_K, q6_K).", nameof(type));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(ldy, rows);
        var info = GgmlTypeInfo.Of(type);
        long bytes = info.MatrixBytes(rows, cols);
        if (weights.Length != bytes) throw new ArgumentException($"Weights hold {weights.Length} bytes; [{rows}, {cols}] in {info.Name} needs {bytes}.", nameof(weights));
        if (x.Length != (long)tokens * cols) throw new ArgumentException($"x holds {x.Length} floats; {tokens} tokens of {cols} columns need {(long)tokens * cols}.", nameof(x));
        if (y.Length < (long)(tokens - 1) * ldy + rows) throw new ArgumentException($"y holds {y.Length} floats; {tokens} tokens at stride {ldy} need {(long)(tokens - 1) * ldy + rows}.", nameof(y));
        if (!rowOrder.IsEmpty && rowOrder.Length != rows) throw new ArgumentException($"rowOrder holds {rowOrder.Length} rows; the matrix has {rows}.", nameof(rowOrder));
        foreach (int r in rowOrder)
            if ((uint)r >= (uint)rows) throw new ArgumentException($"rowOrder names row {r}, outside [0, {rows}).", nameof(rowOrder));

        if (tokens < MinTokens)
        {
            MultiplyRowByRow(type, weights, rows, cols, x, tokens, y, ldy, threads, rowOrder);
            return;
        }
        int subs = cols / 32, padded = (tokens + TokenTile - 1) / TokenTile * TokenTile;
        long activationBytes = (long)padded * cols + (long)padded * subs * 4 * sizeof(float);
        byte* scratch = (byte*)NativeMemory.AlignedAlloc((nuint)activationBytes, 64);
        try
        {
            var args = new Args
            {
                Rows = rows, Cols = cols, Subs = subs, RowBytes = info.RowBytes(cols), Tokens = tokens, Padded = padded, Ldy = ldy, GroupsPerPass = v.BlockSize,
                Xq = (sbyte*)scratch, Xf = (float*)(scratch + (long)padded * cols),
            };
            QuantizeTokens(x, tokens, padded, cols, args.Xq, args.Xf);
            fixed (byte* w = weights)
            fixed (float* py = y)
            fixed (int* order = rowOrder)
            {
                args.W = w;
                args.Y = py;
                args.RowOrder = order;
                var body = type switch
                {
                    GgmlType.Q8_0 => (delegate*<void*, int, int, void>)&Groups<Q8_0Format>,
                    GgmlType.Q4_0 => &Groups<Q4_0Format>,
                    GgmlType.Q4_K => &Groups<Q4_KFormat>,
                    GgmlType.Q5_K => &Groups<Q5_KFormat>,
                    _ => &Groups<Q6_KFormat>,
                };
                KernelThreads.For((rows + 7) / 8, threads, body, &args, spinAfter: false);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
        }
    }

    /// <summary>Fewer tokens than a tile: packing would cost more than it saves, so each token is a matrix-vector product.</summary>
    private static void MultiplyRowByRow(GgmlType type, ReadOnlySpan<byte> weights, int rows, int cols, ReadOnlySpan<float> x, int tokens,
        Span<float> y, int ldy, int threads, ReadOnlySpan<int> rowOrder)
    {
        var scratch = new byte[QuantizedMatVec.ActivationBytes(type, cols)];
        var stored = rowOrder.IsEmpty ? null : new float[rows];
        var variant = QuantizedMatVec.DefaultVariant with { Threads = threads };
        for (int t = 0; t < tokens; t++)
        {
            var row = y.Slice(t * ldy, rows);
            QuantizedMatVec.Multiply(type, weights, rows, cols, x.Slice(t * cols, cols), stored ?? row, scratch, variant);
            if (stored is not null)
                for (int r = 0; r < rows; r++) row[r] = stored[rowOrder[r]];
        }
    }

    private struct Args
    {
        public byte* W;
        public int* RowOrder;
        public sbyte* Xq;
        // Per token and 32 columns: d, d·Σq over elements 0–15, over 16–31, over all 32.
        public float* Xf;
        public float* Y;
        public int Rows, Cols, Subs, RowBytes, Tokens, Padded, Ldy, GroupsPerPass;
    }

    /// <summary>
    /// Each token row to Q8_0 blocks (ggml's reference quantizer), split into levels and (d, d·Σq over elements 0–15,
    /// over 16–31, over all); padding tokens are zero.
    /// </summary>
    private static void QuantizeTokens(ReadOnlySpan<float> x, int tokens, int padded, int cols, sbyte* xq, float* xf)
    {
        int subs = cols / 32;
        new Span<byte>(xq + (long)tokens * cols, (padded - tokens) * cols).Clear();
        new Span<float>(xf + (long)tokens * subs * 4, (padded - tokens) * subs * 4).Clear();
        var blocks = new byte[GgmlTypeInfo.Of(GgmlType.Q8_0).RowBytes(cols)];
        for (int t = 0; t < tokens; t++)
        {
            GgmlQuantization.Quantize(GgmlType.Q8_0, x.Slice(t * cols, cols), blocks);
            for (int j = 0; j < subs; j++)
            {
                var block = blocks.AsSpan(34 * j, 34);
                var q = MemoryMarshal.Cast<byte, sbyte>(block[2..]);
                q.CopyTo(new Span<sbyte>(xq + (long)t * cols + 32 * j, 32));
                int lo = 0, hi = 0;
                for (int i = 0; i < 16; i++) (lo, hi) = (lo + q[i], hi + q[16 + i]);
                float d = HalfBits.Read(block);
                float* f = xf + ((long)t * subs + j) * 4;
                f[0] = d;
                f[1] = d * lo;
                f[2] = d * hi;
                f[3] = d * (lo + hi);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Groups<TF>(void* state, int start, int end) where TF : IQuantFormat
    {
        ref Args a = ref Unsafe.AsRef<Args>(state);
        // Several groups are packed at once (by default about 128 KiB, within L2) so that each token tile, read once, meets them all.
        long groupBytes = (long)a.Subs * GroupBlockBytes;
        int perPass = a.GroupsPerPass > 1 ? Math.Min(a.GroupsPerPass, end - start) : (int)Math.Clamp((128 << 10) / groupBytes, 1, 16);
        byte* packed = (byte*)NativeMemory.AlignedAlloc((nuint)(perPass * groupBytes), 64);
        try
        {
            for (int first = start; first < end; first += perPass)
            {
                int count = Math.Min(perPass, end - first);
                for (int i = 0; i < count; i++) Pack<TF>(ref a, first + i, packed + i * groupBytes);
                for (int t = 0; t < a.Padded; t += TokenTile)
                    for (int i = 0; i < count; i++) Tile<TF>(ref a, packed + i * groupBytes, first + i, t);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(packed);
        }
    }

    /// <summary>Rows 8g..8g+7 (missing rows as zeros) into the interleaved layout: dword k of row r at byte 32k + 4r of each 32 columns.</summary>
    private static void Pack<TF>(ref Args a, int g, byte* packed) where TF : IQuantFormat
    {
        int perBlock = TF.BlockSize / 32, valid = Math.Min(8, a.Rows - 8 * g);
        float* scales = stackalloc float[2];
        float* offsets = stackalloc float[2];
        byte** source = stackalloc byte*[8];
        for (int r = 0; r < valid; r++)
        {
            int row = 8 * g + r;
            source[r] = a.W + (long)(a.RowOrder is null ? row : a.RowOrder[row]) * a.RowBytes;
        }
        Span<Vector256<int>> levels = stackalloc Vector256<int>[8];
        for (int j = 0; j < a.Subs; j++)
        {
            byte* p = packed + (long)j * GroupBlockBytes;
            float* f = (float*)(p + 256);
            long block = (long)(j / perBlock) * TF.BlockBytes;
            for (int r = 0; r < 8; r++)
            {
                if (r < valid)
                {
                    levels[r] = TF.Levels(source[r] + block, j % perBlock, scales, offsets).AsInt32();
                    f[r] = scales[0];
                    f[8 + r] = scales[1];
                    f[16 + r] = offsets[0];
                    f[24 + r] = offsets[1];
                }
                else
                {
                    levels[r] = default;
                    f[r] = f[8 + r] = f[16 + r] = f[24 + r] = 0;
                }
            }
            Transpose(levels, (int*)p);
        }
    }

    /// <summary>Writes the 8×8 dword matrix <paramref name="rows"/> transposed: dword k of row r to destination[8k + r] (AVX2, which AVX-VNNI implies).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ReadOnlySpan<Vector256<int>> rows, int* destination)
    {
        var t0 = Avx2.UnpackLow(rows[0], rows[1]).AsInt64();
        var t1 = Avx2.UnpackHigh(rows[0], rows[1]).AsInt64();
        var t2 = Avx2.UnpackLow(rows[2], rows[3]).AsInt64();
        var t3 = Avx2.UnpackHigh(rows[2], rows[3]).AsInt64();
        var t4 = Avx2.UnpackLow(rows[4], rows[5]).AsInt64();
        var t5 = Avx2.UnpackHigh(rows[4], rows[5]).AsInt64();
        var t6 = Avx2.UnpackLow(rows[6], rows[7]).AsInt64();
        var t7 = Avx2.UnpackHigh(rows[6], rows[7]).AsInt64();
        var u0 = Avx2.UnpackLow(t0, t2).AsInt32();
        var u1 = Avx2.UnpackHigh(t0, t2).AsInt32();
        var u2 = Avx2.UnpackLow(t1, t3).AsInt32();
        var u3 = Avx2.UnpackHigh(t1, t3).AsInt32();
        var u4 = Avx2.UnpackLow(t4, t6).AsInt32();
        var u5 = Avx2.UnpackHigh(t4, t6).AsInt32();
        var u6 = Avx2.UnpackLow(t5, t7).AsInt32();
        var u7 = Avx2.UnpackHigh(t5, t7).AsInt32();
        Avx2.Permute2x128(u0, u4, 0x20).Store(destination);
        Avx2.Permute2x128(u1, u5, 0x20).Store(destination + 8);
        Avx2.Permute2x128(u2, u6, 0x20).Store(destination + 16);
        Avx2.Permute2x128(u3, u7, 0x20).Store(destination + 24);
        Avx2.Permute2x128(u0, u4, 0x31).Store(destination + 32);
        Avx2.Permute2x128(u1, u5, 0x31).Store(destination + 40);
        Avx2.Permute2x128(u2, u6, 0x31).Store(destination + 48);
        Avx2.Permute2x128(u3, u7, 0x31).Store(destination + 56);
    }

    /// <summary>Tokens t..t+3 against the packed group g: per 32 columns two vpdpbusd chains (elements 0–15, 16–31) per token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TF>(ref Args a, byte* packed, int g, int t) where TF : IQuantFormat
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        long cols = a.Cols;
        sbyte* x0 = a.Xq + t * cols;
        float* f0 = a.Xf + (long)t * a.Subs * 4;
        long fStride = a.Subs * 4;
        for (int j = 0; j < a.Subs; j++, packed += GroupBlockBytes, x0 += 32, f0 += 4)
        {
            var w0 = Vector256.Load(packed);
            var w1 = Vector256.Load(packed + 32);
            var w2 = Vector256.Load(packed + 64);
            var w3 = Vector256.Load(packed + 96);
            var w4 = Vector256.Load(packed + 128);
            var w5 = Vector256.Load(packed + 160);
            var w6 = Vector256.Load(packed + 192);
            var w7 = Vector256.Load(packed + 224);
            float* f = (float*)(packed + 256);
            var sLo = Vector256.Load(f);
            var sHi = Vector256.Load(f + 8);
            var oLo = Vector256.Load(f + 16);
            var oHi = Vector256.Load(f + 24);
            if (!TF.SixteenElementScales)
            {
                acc0 = Token(acc0, x0, f0, w0, w1, w2, w3, w4, w5, w6, w7, sLo, oLo);
                acc1 = Token(acc1, x0 + cols, f0 + fStride, w0, w1, w2, w3, w4, w5, w6, w7, sLo, oLo);
                acc2 = Token(acc2, x0 + 2 * cols, f0 + 2 * fStride, w0, w1, w2, w3, w4, w5, w6, w7, sLo, oLo);
                acc3 = Token(acc3, x0 + 3 * cols, f0 + 3 * fStride, w0, w1, w2, w3, w4, w5, w6, w7, sLo, oLo);
                continue;
            }
            acc0 = Token(acc0, x0, f0, w0, w1, w2, w3, w4, w5, w6, w7, sLo, sHi, oLo, oHi);
            acc1 = Token(acc1, x0 + cols, f0 + fStride, w0, w1, w2, w3, w4, w5, w6, w7, sLo, sHi, oLo, oHi);
            acc2 = Token(acc2, x0 + 2 * cols, f0 + 2 * fStride, w0, w1, w2, w3, w4, w5, w6, w7, sLo, sHi, oLo, oHi);
            acc3 = Token(acc3, x0 + 3 * cols, f0 + 3 * fStride, w0, w1, w2, w3, w4, w5, w6, w7, sLo, sHi, oLo, oHi);
        }
        Store(ref a, g, t, acc0);
        Store(ref a, g, t + 1, acc1);
        Store(ref a, g, t + 2, acc2);
        Store(ref a, g, t + 3, acc3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Token(Vector256<float> acc, sbyte* x, float* f,
        Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7,
        Vector256<float> sLo, Vector256<float> sHi, Vector256<float> oLo, Vector256<float> oHi)
    {
        var (lo, hi) = Sums(x, w0, w1, w2, w3, w4, w5, w6, w7);
        var d = Vector256.Create(f[0]);
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lo), sLo * d, acc);
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(hi), sHi * d, acc);
        acc = Fma.MultiplyAddNegated(oLo, Vector256.Create(f[1]), acc);
        return Fma.MultiplyAddNegated(oHi, Vector256.Create(f[2]), acc);
    }

    /// <summary>As the other overload for formats with one scale and offset per 32 elements: the halves' sums add as integers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Token(Vector256<float> acc, sbyte* x, float* f,
        Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7,
        Vector256<float> s, Vector256<float> o)
    {
        var (lo, hi) = Sums(x, w0, w1, w2, w3, w4, w5, w6, w7);
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lo + hi), s * Vector256.Create(f[0]), acc);
        return Fma.MultiplyAddNegated(o, Vector256.Create(f[3]), acc);
    }

    /// <summary>Per row, Σ level·x over elements 0–15 and over 16–31: two chains, so the vpdpbusd latencies overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Low, Vector256<int> High) Sums(sbyte* x,
        Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7)
    {
        var lo = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w0, Broadcast(x));
        var hi = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w4, Broadcast(x + 16));
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w1, Broadcast(x + 4));
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w5, Broadcast(x + 20));
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w2, Broadcast(x + 8));
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w6, Broadcast(x + 24));
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w3, Broadcast(x + 12));
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w7, Broadcast(x + 28));
        return (lo, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Broadcast(sbyte* x) => Vector256.Create(Unsafe.ReadUnaligned<int>(x)).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref Args a, int g, int t, Vector256<float> acc)
    {
        if (t >= a.Tokens) return;
        float* y = a.Y + (long)t * a.Ldy + 8 * g;
        int valid = Math.Min(8, a.Rows - 8 * g);
        if (valid == 8) acc.Store(y);
        else for (int r = 0; r < valid; r++) y[r] = acc.GetElement(r);
    }
}
