using TimeBill.Kernels.Quantized;

namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>Which ggml tensor types a GGUF file may hold here, and their names in errors.</summary>
internal static class GgufTypes
{
    /// <summary>The block layout of <paramref name="type"/> when this library reads it, else null.</summary>
    public static GgmlTypeInfo? Readable(GgmlType type) =>
        Enum.IsDefined(type) && GgmlTypeInfo.Of(type) is { IsSupported: true } info && type != GgmlType.Q8_K ? info : null;

    /// <summary>ggml's name of a type id, or "unknown type N" for an id it does not define.</summary>
    public static string Name(GgmlType type) => Enum.IsDefined(type) ? $"{type} ({(int)type})" : $"unknown type {(int)type}";

    /// <summary>The types read, for error messages.</summary>
    public static string SupportedNames => string.Join(", ", Enum.GetValues<GgmlType>().Where(t => Readable(t) is not null));
}
