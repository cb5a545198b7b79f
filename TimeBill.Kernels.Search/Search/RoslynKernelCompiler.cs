using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TimeBill.Kernels.Specs;

namespace TimeBill.Kernels.Search;

/// <summary>
/// Compiles candidate source with Roslyn into a collectible assembly load context. The source must define
/// <c>public static void Run(TCase c)</c> in a public type, TCase being the spec's case type; the context is
/// marked for unloading at once and goes away when the candidate is no longer referenced. Every method without a
/// <c>MethodImpl</c> attribute gets <c>AggressiveOptimization</c>, as the built-in kernels have, so that a short
/// timing measures optimised code and not the JIT's first tier.
/// </summary>
public static class RoslynKernelCompiler
{
    /// <summary>Origin of compiled candidates.</summary>
    public const string SourceOrigin = "source";

    /// <summary>Every candidate's assembly name: the kernels and specs name it a friend, so candidates may use their internals.</summary>
    public const string CandidateAssemblyName = "TimeBill.Kernels.Candidate";

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.Length > 0)
            .Append(typeof(KernelCase).Assembly.Location)
            .Distinct()
            .Select(p => MetadataReference.CreateFromFile(p)),
    ]);

    /// <summary>Compiles <paramref name="source"/> into a candidate named <paramref name="name"/>; compile errors come back in <see cref="KernelCandidate.CompileError"/>.</summary>
    public static KernelCandidate Compile(KernelSpec spec, string source, string name, string origin = SourceOrigin)
    {
        var compilation = CSharpCompilation.Create(
            CandidateAssemblyName,
            [new OptimizeMethods().Visit(CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest)).GetRoot()).SyntaxTree],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, allowUnsafe: true));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success)
        {
            var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString());
            return Failed(string.Join(Environment.NewLine, errors));
        }

        image.Position = 0;
        var context = new AssemblyLoadContext($"{CandidateAssemblyName}.{spec.Name}.{Guid.NewGuid():N}", isCollectible: true);
        try
        {
            var entry = context.LoadFromStream(image).GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
                .FirstOrDefault(m => m.Name == "Run" && m.ReturnType == typeof(void)
                                     && m.GetParameters() is [var p] && p.ParameterType == spec.CaseType);
            if (entry is null)
                return Failed($"error: no public static void Run({spec.CaseType.Name} c) in a public type.");
            var wrap = typeof(RoslynKernelCompiler).GetMethod(nameof(Wrap), BindingFlags.NonPublic | BindingFlags.Static)!;
            var run = (Action<KernelCase>)wrap.MakeGenericMethod(spec.CaseType).Invoke(null, [entry])!;
            return new KernelCandidate(name, origin, run, Source: source);
        }
        finally
        {
            context.Unload();
        }

        KernelCandidate Failed(string message) => new(name, origin, null, Source: source, CompileError: message);
    }

    private sealed class OptimizeMethods : CSharpSyntaxRewriter
    {
        private static readonly AttributeListSyntax Attribute = SyntaxFactory.ParseCompilationUnit(
            "[System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] void M() { }")
            .DescendantNodes().OfType<AttributeListSyntax>().Single();

        public override SyntaxNode? VisitMethodDeclaration(MethodDeclarationSyntax node) =>
            node.AttributeLists.SelectMany(l => l.Attributes).Any(a => a.Name.ToString().Contains("MethodImpl", StringComparison.Ordinal))
                ? node
                : node.AddAttributeLists(Attribute);
    }

    private static Action<KernelCase> Wrap<TCase>(MethodInfo entry) where TCase : KernelCase
    {
        var run = entry.CreateDelegate<Action<TCase>>();
        return c => run((TCase)c);
    }
}
