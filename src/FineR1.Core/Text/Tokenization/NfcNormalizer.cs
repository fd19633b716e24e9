using System.Text;
using Microsoft.ML.Tokenizers;

namespace FineR1.Core.Text.Tokenization;

/// <summary>Unicode NFC, the <c>normalizer</c> of Qwen's <c>tokenizer.json</c>.</summary>
public sealed class NfcNormalizer : Normalizer
{
    /// <summary>The shared instance (stateless).</summary>
    public static NfcNormalizer Instance { get; } = new();

    /// <summary>Returns <paramref name="original"/> in NFC (the same instance when it already is).</summary>
    public override string Normalize(string original) =>
        original.IsNormalized(NormalizationForm.FormC) ? original : original.Normalize(NormalizationForm.FormC);

    /// <summary>Returns <paramref name="original"/> in NFC.</summary>
    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
