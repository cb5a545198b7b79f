using TimeBill.Kernels.Tuning;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;

namespace TimeBill.Tests.Kernels;

public class VerifierTests
{
    private static readonly KernelSpec MatVec = new MatVecFloat32Spec();

    [Fact]
    public void Rejects_a_wrong_candidate()
    {
        var wrong = new KernelCandidate("off-by-one", "test", c =>
        {
            var m = (MatVecFloat32Case)c;
            for (int r = 0; r < m.Rows; r++)
            {
                float sum = 0;
                for (int k = 0; k < m.Cols - 1; k++) sum += m.Weights[r * m.Cols + k] * m.X[k]; // drops the last column
                m.Y[r] = sum;
            }
        });
        var verdict = KernelVerifier.Verify(MatVec, wrong, Random.Shared.Next());
        Assert.Equal(CandidateOutcome.Wrong, verdict.Outcome);
        Assert.Contains("expected", verdict.Feedback);
    }

    [Fact]
    public void Rejects_a_candidate_that_leaves_output_unwritten()
    {
        var lazy = RoslynKernelCompiler.Compile(MatVec, """
            using TimeBill.Kernels.Specs;
            public static class Candidate
            {
                public static void Run(MatVecFloat32Case c)
                {
                    for (int r = 0; r < c.Rows - 1; r++) // forgets the last row
                    {
                        float sum = 0;
                        for (int k = 0; k < c.Cols; k++) sum += c.Weights[r * c.Cols + k] * c.X[k];
                        c.Y[r] = sum;
                    }
                }
            }
            """, "lazy.cs");
        var verdict = KernelVerifier.Verify(MatVec, lazy, Random.Shared.Next());
        Assert.Equal(CandidateOutcome.Wrong, verdict.Outcome);
        Assert.Contains("unwritten", verdict.Feedback);
    }

    [Fact]
    public void Rejects_a_candidate_that_returns_a_cached_answer()
    {
        float[]? remembered = null;
        var cheat = new KernelCandidate("cheat", "test", c =>
        {
            var m = (MatVecFloat32Case)c;
            if (remembered?.Length == m.Rows) { remembered.CopyTo(m.Y, 0); return; }
            MatVecSpecRun(m);
            remembered = (float[])m.Y.Clone();
        });
        KernelVerifier.Verify(MatVec, cheat, 1);
        Assert.False(KernelVerifier.Verify(MatVec, cheat, 2).Passed); // fresh inputs expose it
    }

    [Fact]
    public void Reports_an_exception_as_feedback()
    {
        var crash = new KernelCandidate("crash", "test", _ => throw new InvalidOperationException("boom"));
        var verdict = KernelVerifier.Verify(MatVec, crash, 3);
        Assert.Equal(CandidateOutcome.Crashed, verdict.Outcome);
        Assert.Contains("boom", verdict.Feedback);
    }

    [Theory]
    [InlineData("matvec_f32")]
    [InlineData("matvec_bf16")]
    [InlineData("rmsnorm")]
    [InlineData("rotary")]
    [InlineData("swiglu")]
    [InlineData("attention")]
    [InlineData("topk")]
    public void Accepts_the_roslyn_compiled_naive_source(string kernel)
    {
        var spec = KernelSpecs.Find(kernel);
        var candidate = RoslynKernelCompiler.Compile(spec, spec.NaiveSource, "naive.cs");
        Assert.Null(candidate.CompileError);
        var verdict = KernelVerifier.Verify(spec, candidate, Random.Shared.Next());
        Assert.True(verdict.Passed, verdict.Feedback);
    }

    [Fact]
    public void Rejects_source_that_does_not_compile_with_the_compilers_message()
    {
        var broken = RoslynKernelCompiler.Compile(MatVec, "public static class Candidate { public static void Run(MatVecFloat32Case c) { c.Y[0] = undefined; } }", "broken.cs");
        var verdict = KernelVerifier.Verify(MatVec, broken, 4);
        Assert.Equal(CandidateOutcome.CompileError, verdict.Outcome);
        Assert.Contains("CS0246", verdict.Feedback); // MatVecFloat32Case without its using
        Assert.Contains("undefined", verdict.Feedback);
    }

    [Fact]
    public void Rejects_source_without_the_entry_point()
    {
        var candidate = RoslynKernelCompiler.Compile(MatVec, "public static class Candidate { public static void Go() { } }", "noentry.cs");
        Assert.Equal(CandidateOutcome.CompileError, KernelVerifier.Verify(MatVec, candidate, 5).Outcome);
        Assert.Contains("Run(MatVecFloat32Case c)", candidate.CompileError);
    }

    private static void MatVecSpecRun(MatVecFloat32Case m) =>
        TimeBill.Kernels.MatVec.Float32(m.Weights, m.Rows, m.Cols, m.X, m.Y);
}
