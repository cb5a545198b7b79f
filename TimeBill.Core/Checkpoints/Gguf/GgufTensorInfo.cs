using TimeBill.Kernels.Quantized;
namespace TimeBill.Core.Checkpoints.Gguf;

/// <summary>One tensor of a GGUF file.</summary>
/// <param name="Name">e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Dimensions">ggml order: the first is the innermost (a matrix's columns), the last the outermost.</param>
/// <param name="Type">Its element or block format.</param>
/// <param name="Offset">Byte offset of its data within the file.</param>
/// <param name="Length">Byte length of its data.</param>
internal sealed record GgufTensorInfo(string Name, long[] Dimensions, GgmlType Type, long Offset, long Length)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Dimensions.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape in row-major (PyTorch) order: outermost first.</summary>
    public long[] Shape => Dimensions.Reverse().ToArray();
}
