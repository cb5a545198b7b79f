namespace TimeBill.Kernels.Quantized;

/// <summary>
/// ggml's tensor element types with their numeric ids (ggml.h <c>enum ggml_type</c>), the ids GGUF files store.
/// Ids 4, 5 and 31–33, 36–38 were retired by ggml and are never written.
/// </summary>
public enum GgmlType
{
    /// <summary>IEEE float32.</summary>
    F32 = 0,
    /// <summary>IEEE float16.</summary>
    F16 = 1,
    /// <summary>32 elements: fp16 scale, 16 bytes of 4-bit quants (offset 8).</summary>
    Q4_0 = 2,
    /// <summary>32 elements: fp16 scale and min, 4-bit quants.</summary>
    Q4_1 = 3,
    /// <summary>32 elements: fp16 scale, 5-bit quants.</summary>
    Q5_0 = 6,
    /// <summary>32 elements: fp16 scale and min, 5-bit quants.</summary>
    Q5_1 = 7,
    /// <summary>32 elements: fp16 scale, 32 int8 quants.</summary>
    Q8_0 = 8,
    /// <summary>32 elements: fp16 scale and scaled sum, 32 int8 quants (activations).</summary>
    Q8_1 = 9,
    /// <summary>256-element super-block, 2-bit quants.</summary>
    Q2_K = 10,
    /// <summary>256-element super-block, 3-bit quants.</summary>
    Q3_K = 11,
    /// <summary>256-element super-block, 4-bit quants with 6-bit sub-block scales and mins.</summary>
    Q4_K = 12,
    /// <summary>256-element super-block, 5-bit quants with 6-bit sub-block scales and mins.</summary>
    Q5_K = 13,
    /// <summary>256-element super-block, 6-bit quants with int8 sub-block scales.</summary>
    Q6_K = 14,
    /// <summary>256-element block: float32 scale, 256 int8 quants, 16 int16 sums (activations of K-quant products).</summary>
    Q8_K = 15,
    /// <summary>i-quant, 2.06 bits per weight.</summary>
    IQ2_XXS = 16,
    /// <summary>i-quant, 2.31 bits per weight.</summary>
    IQ2_XS = 17,
    /// <summary>i-quant, 3.06 bits per weight.</summary>
    IQ3_XXS = 18,
    /// <summary>i-quant, 1.56 bits per weight.</summary>
    IQ1_S = 19,
    /// <summary>Non-linear 4-bit, 32-element blocks.</summary>
    IQ4_NL = 20,
    /// <summary>i-quant, 3.44 bits per weight.</summary>
    IQ3_S = 21,
    /// <summary>i-quant, 2.56 bits per weight.</summary>
    IQ2_S = 22,
    /// <summary>Non-linear 4-bit, 256-element super-blocks.</summary>
    IQ4_XS = 23,
    /// <summary>int8.</summary>
    I8 = 24,
    /// <summary>int16.</summary>
    I16 = 25,
    /// <summary>int32.</summary>
    I32 = 26,
    /// <summary>int64.</summary>
    I64 = 27,
    /// <summary>IEEE float64.</summary>
    F64 = 28,
    /// <summary>i-quant, 1.75 bits per weight.</summary>
    IQ1_M = 29,
    /// <summary>bfloat16 (the upper half of a float32).</summary>
    BF16 = 30,
    /// <summary>Ternary, 1.69 bits per weight.</summary>
    TQ1_0 = 34,
    /// <summary>Ternary, 2.06 bits per weight.</summary>
    TQ2_0 = 35,
    /// <summary>Microscaling FP4: 32 E2M1 values, one E8M0 scale.</summary>
    MXFP4 = 39,
    /// <summary>NVIDIA FP4: 64 E2M1 values, four UE4M3 scales.</summary>
    NVFP4 = 40,
    /// <summary>128 elements: fp16 scale, one sign bit each.</summary>
    Q1_0 = 41,
}
