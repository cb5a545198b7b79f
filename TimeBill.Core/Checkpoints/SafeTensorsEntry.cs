namespace TimeBill.Core.Checkpoints;

/// <summary>One tensor's description in a safetensors header.</summary>
/// <param name="Name">Tensor name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Offset">Absolute byte offset of the data in the file.</param>
/// <param name="Length">Byte length of the data.</param>
/// <param name="File">The file holding it.</param>
internal sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, long[] Shape, long Offset, long Length, string File)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
