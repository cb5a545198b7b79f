namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>
/// One GGUF metadata value: a number (held as the CLR type of its tag), a bool, a string, or a <see cref="GgufArray"/>.
/// </summary>
/// <param name="Type">The tag it was written with.</param>
/// <param name="Value">byte, sbyte, ushort, short, uint, int, float, bool, string, ulong, long, double or <see cref="GgufArray"/>.</param>
internal sealed record GgufValue(GgufValueType Type, object Value)
{
    /// <summary>The value as a 64-bit integer when it is an integer of any width that fits, else null.</summary>
    public long? AsInteger() => Value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => null,
    };

    /// <summary>The value as a double when it is a float of either width, else null.</summary>
    public double? AsReal() => Value switch
    {
        float v => v,
        double v => v,
        _ => null,
    };

    /// <summary>A value to write: the tag follows the CLR type (arrays take their element tag from the items).</summary>
    public static GgufValue Of(object value) => value switch
    {
        byte => new(GgufValueType.UInt8, value),
        sbyte => new(GgufValueType.Int8, value),
        ushort => new(GgufValueType.UInt16, value),
        short => new(GgufValueType.Int16, value),
        uint => new(GgufValueType.UInt32, value),
        int => new(GgufValueType.Int32, value),
        float => new(GgufValueType.Float32, value),
        bool => new(GgufValueType.Bool, value),
        string => new(GgufValueType.String, value),
        ulong => new(GgufValueType.UInt64, value),
        long => new(GgufValueType.Int64, value),
        double => new(GgufValueType.Float64, value),
        GgufArray => new(GgufValueType.Array, value),
        _ => throw new ArgumentException($"a GGUF value cannot hold a {value?.GetType().Name ?? "null"}.", nameof(value)),
    };
}

/// <summary>A GGUF array: items of one tag, as a typed CLR array (string[] for strings, GgufArray[] for nested arrays).</summary>
internal sealed record GgufArray(GgufValueType ElementType, Array Items)
{
    /// <summary>An array whose element tag follows <typeparamref name="T"/>.</summary>
    public static GgufArray Of<T>(T[] items) where T : notnull =>
        new(typeof(T) == typeof(GgufArray) ? GgufValueType.Array : GgufValue.Of(items.Length > 0 ? items[0] : DefaultOf<T>()).Type, items);

    private static object DefaultOf<T>() => typeof(T) == typeof(string) ? "" : Activator.CreateInstance(typeof(T))!;
}
