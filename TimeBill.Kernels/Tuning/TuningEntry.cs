namespace TimeBill.Kernels.Tuning;

/// <summary>The winning variant of one kernel for one shape class on this machine.</summary>
/// <param name="Kernel">Kernel name.</param>
/// <param name="ShapeClass">Shape class the variant is chosen for.</param>
/// <param name="Shape">The shape it was timed at.</param>
/// <param name="Variant">The variant to run.</param>
/// <param name="MedianSeconds">Its median time per call.</param>
/// <param name="NaiveSeconds">The naive .NET baseline's median at the same shape.</param>
/// <param name="EagerSeconds">The eager baseline's median at the same shape, when measured.</param>
public sealed record TuningEntry(
    string Kernel,
    string ShapeClass,
    string Shape,
    KernelVariant Variant,
    double MedianSeconds,
    double? NaiveSeconds,
    double? EagerSeconds);
