namespace TimeBill.Core.Checkpoints;

/// <summary>The element types this library reads from safetensors files.</summary>
internal enum SafeTensorsDType
{
    /// <summary>IEEE float32.</summary>
    F32,
    /// <summary>bfloat16: the upper half of a float32.</summary>
    BF16,
    /// <summary>IEEE float16.</summary>
    F16,
}

/// <summary>Sizes and parsing of <see cref="SafeTensorsDType"/>.</summary>
internal static class SafeTensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this SafeTensorsDType dtype) => dtype == SafeTensorsDType.F32 ? 4 : 2;

    /// <summary>Parses the header's dtype string, or <c>null</c> when unsupported.</summary>
    public static SafeTensorsDType? Parse(string? name) => name switch
    {
        "F32" => SafeTensorsDType.F32,
        "BF16" => SafeTensorsDType.BF16,
        "F16" => SafeTensorsDType.F16,
        _ => null,
    };
}
