namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>ggml's tensor type ids, as GGUF tensor infos carry them.</summary>
internal enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
}

/// <summary>Block size and bytes per block of the types this library reads (ggml's type-traits table, for those).</summary>
internal static class GgmlTypeSizes
{
    public readonly record struct Sizes(int BlockElements, int BlockBytes);

    private static readonly Dictionary<GgmlType, Sizes> Read = new()
    {
        [GgmlType.F32] = new(1, 4),
        [GgmlType.F16] = new(1, 2),
        [GgmlType.BF16] = new(1, 2),
        [GgmlType.Q8_0] = new(32, 34),
        [GgmlType.Q4_0] = new(32, 18),
        [GgmlType.Q4_K] = new(256, 144),
        [GgmlType.Q5_K] = new(256, 176),
        [GgmlType.Q6_K] = new(256, 210),
    };

    /// <summary>The sizes of <paramref name="type"/>, or null when this library does not read it.</summary>
    public static Sizes? Of(GgmlType type) => Read.TryGetValue(type, out var sizes) ? sizes : null;

    /// <summary>ggml's name of a type id, or "type N" for an id it does not define.</summary>
    public static string Name(GgmlType type) => Enum.IsDefined(type) ? $"{type} ({(uint)type})" : $"unknown type {(uint)type}";

    /// <summary>The types read, for error messages.</summary>
    public static string SupportedNames => string.Join(", ", Read.Keys);
}
