namespace TimeBill.Kernels;

/// <summary>An integer the JIT sees as a constant when a generic kernel is specialised on it (unroll factors, rows per iteration).</summary>
internal interface ICompileTimeConstant
{
    static abstract int Value { get; }
}

internal readonly struct One : ICompileTimeConstant { public static int Value => 1; }
internal readonly struct Two : ICompileTimeConstant { public static int Value => 2; }
internal readonly struct Four : ICompileTimeConstant { public static int Value => 4; }
