namespace TimeBill.Core.Checkpoints;

/// <summary>
/// A weight under its Hugging Face name, whatever file holds it (safetensors, or GGUF under its own naming), with a
/// function that reads it widened to float32.
/// </summary>
/// <param name="Name">e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Shape">Row-major shape.</param>
/// <param name="File">The file holding it, for errors.</param>
/// <param name="ReadFloat32">Reads its values in row-major order.</param>
internal sealed record CheckpointTensor(string Name, long[] Shape, string File, Func<float[]> ReadFloat32)
{
    /// <summary>The stored rows, when the file's bytes can be used in place (a mapped GGUF tensor), else null.</summary>
    public Model.WeightSegment? Stored { get; init; }

    /// <summary>Reads elements [start, start + destination.Length) widened to float32, when the file can be read in parts; else null.</summary>
    public CheckpointRangeReader? ReadFloat32Range { get; init; }
}

/// <summary>Reads elements [<paramref name="start"/>, <paramref name="start"/> + destination.Length) of a tensor as float32.</summary>
internal delegate void CheckpointRangeReader(long start, Span<float> destination);
