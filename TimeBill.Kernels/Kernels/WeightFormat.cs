using System.Runtime.CompilerServices;

namespace TimeBill.Kernels;

/// <summary>How a matrix element is stored; the matrix-vector kernel is written once and specialised per format.</summary>
internal interface IWeightFormat<TWeight> where TWeight : unmanaged
{
    /// <summary>Elements one accumulation step consumes at this width.</summary>
    static abstract int Step<TLanes, TVector>() where TLanes : IFloatLanes<TVector> where TVector : struct;

    /// <summary>
    /// Adds w[0..Step) · x[0..Step) lane-wise into <paramref name="first"/> and, where one step takes two
    /// multiply-adds, the second into <paramref name="second"/>: two independent chains, so neither waits on the
    /// other's multiply-add latency. The row's result is the lane sum of both.
    /// </summary>
    static abstract void Accumulate<TLanes, TVector>(ref TWeight w, ref float x, ref TVector first, ref TVector second)
        where TLanes : IFloatLanes<TVector> where TVector : struct;

    static abstract float ToSingle(TWeight w);

    /// <summary>Whether <see cref="Accumulate"/> expects x permuted into <see cref="BFloat16Order"/> within each step.</summary>
    static abstract bool PermutedInput { get; }
}

/// <summary>float32 weights.</summary>
internal readonly struct Float32Weights : IWeightFormat<float>
{
    public static int Step<TLanes, TVector>() where TLanes : IFloatLanes<TVector> where TVector : struct => TLanes.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate<TLanes, TVector>(ref float w, ref float x, ref TVector first, ref TVector second)
        where TLanes : IFloatLanes<TVector> where TVector : struct =>
        first = TLanes.MultiplyAdd(TLanes.Load(ref w), TLanes.Load(ref x), first);

    public static float ToSingle(float w) => w;

    public static bool PermutedInput => false;
}

/// <summary>
/// bfloat16 weights as raw bits, widened to float32 by interleaving zero low halves, which leaves the values in
/// <see cref="BFloat16Order"/>: x is permuted the same way once per product; accumulation stays float32.
/// </summary>
internal readonly struct BFloat16Weights : IWeightFormat<ushort>
{
    public static int Step<TLanes, TVector>() where TLanes : IFloatLanes<TVector> where TVector : struct => 2 * TLanes.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate<TLanes, TVector>(ref ushort w, ref float x, ref TVector first, ref TVector second)
        where TLanes : IFloatLanes<TVector> where TVector : struct
    {
        TLanes.LoadBFloat16(ref w, out var lower, out var upper);
        first = TLanes.MultiplyAdd(lower, TLanes.Load(ref x), first);
        second = TLanes.MultiplyAdd(upper, TLanes.Load(ref Unsafe.Add(ref x, TLanes.Count)), second);
    }

    public static float ToSingle(ushort w) => BFloat16Bits.ToSingle(w);

    public static bool PermutedInput => true;
}

/// <summary>IEEE float16 weights as raw bits, widened to float32 in order (<see cref="HalfWidening"/>); accumulation stays float32.</summary>
internal readonly struct Float16Weights : IWeightFormat<ushort>
{
    public static int Step<TLanes, TVector>() where TLanes : IFloatLanes<TVector> where TVector : struct => 2 * TLanes.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate<TLanes, TVector>(ref ushort w, ref float x, ref TVector first, ref TVector second)
        where TLanes : IFloatLanes<TVector> where TVector : struct
    {
        TLanes.LoadFloat16(ref w, out var lower, out var upper);
        first = TLanes.MultiplyAdd(lower, TLanes.Load(ref x), first);
        second = TLanes.MultiplyAdd(upper, TLanes.Load(ref Unsafe.Add(ref x, TLanes.Count)), second);
    }

    public static float ToSingle(ushort w) => Quantized.HalfBits.ToSingle(w);

    public static bool PermutedInput => false;
}
