namespace TimeBill.Core.Decoding;

/// <summary>How a single-token decode step runs.</summary>
public enum DecodePath
{
    /// <summary>Measure both paths on a few warm-up steps once per model and keep the faster.</summary>
    Auto,
    /// <summary>libtorch eager operators (<see cref="Model.CausalLanguageModel.Forward"/>).</summary>
    Torch,
    /// <summary>The SIMD kernels of TimeBill.Kernels (<see cref="KernelDecoder"/>).</summary>
    Kernels,
}
