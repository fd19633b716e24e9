using FineR1.Experiments.Synthetic.Taxonomy;
using FineR1.Experiments.Synthetic.Text;

namespace FineR1.Experiments.Synthetic;

/// <summary>Which image pool an image belongs to (pools never share images).</summary>
public enum SynthImagePool
{
    /// <summary>Captioned for pretraining the base model's world knowledge (all species, seen and unseen).</summary>
    Pretrain,
    /// <summary>Training images of every species; seen species' first <see cref="FgvrSynthOptions.Shots"/> are the SFT shots and TAPO anchors.</summary>
    Train,
    /// <summary>Evaluation images (closed- and open-world).</summary>
    Test,
}

/// <summary>One rendered PNG.</summary>
/// <param name="Species">What it shows.</param>
/// <param name="Pool">Which pool it is in.</param>
/// <param name="Number">Index within the species' pool (0-based).</param>
/// <param name="RelativePath">Path relative to the world root, '/'-separated (what the written files contain),
/// e.g. <c>birds/train/Varen_Tanager/Varen_Tanager_0000.png</c>.</param>
/// <param name="Path">Absolute path.</param>
public sealed record SynthImage(Species Species, SynthImagePool Pool, int Number, string RelativePath, string Path);

/// <summary>An attribute caption of a pretraining image (no species name).</summary>
/// <param name="Image">The captioned image.</param>
/// <param name="Text">"A bird with a crimson crown, double white wing bars, …".</param>
public sealed record CaptionRecord(SynthImage Image, string Text);

/// <summary>A text fact linking a species name to its attributes or to a look-alike.</summary>
/// <param name="Species">The species the fact is about.</param>
/// <param name="Text">"The Varen Tanager has a crimson crown, …".</param>
public sealed record FactRecord(Species Species, string Text);

/// <summary>One Stage-1 SFT example (written to both the CoT and the direct-answer file).</summary>
/// <param name="Image">A training shot of a seen species.</param>
/// <param name="Question">The question (without the image placeholder).</param>
/// <param name="Candidates">The candidate sub-categories the rationale lists, in order (includes the answer).</param>
/// <param name="CotAnswer">The assistant turn with reasoning: <c>&lt;think&gt; … &lt;/think&gt;\n\n&lt;answer&gt;NAME&lt;/answer&gt;</c>.</param>
public sealed record SftExample(SynthImage Image, string Question, IReadOnlyList<Species> Candidates, string CotAnswer)
{
    /// <summary>The ground-truth name.</summary>
    public string Answer => Image.Species.Name;

    /// <summary>The user turn: <c>&lt;image&gt;</c> + question.</summary>
    public string UserTurn => SynthTurns.Stage1User(Question);

    /// <summary>The assistant turn of the direct-SFT baseline: <c>&lt;answer&gt;NAME&lt;/answer&gt;</c>.</summary>
    public string DirectAnswer => SynthTurns.DirectAnswer(Answer);
}

/// <summary>A TAPO training row (docs/method.md §5.1): anchor, positive (same species, other image), negative (a seen
/// one-attribute neighbour), all the same size.</summary>
/// <param name="Anchor">The anchor image (a training shot).</param>
/// <param name="Positive">Another training image of the same species.</param>
/// <param name="Negative">A training image of a seen species that differs in exactly one attribute.</param>
/// <param name="Problem">"&lt;image&gt; " + question.</param>
/// <param name="Answer">The species name.</param>
public sealed record TapoTriplet(SynthImage Anchor, SynthImage Positive, SynthImage Negative, string Problem, string Answer);

/// <summary>One evaluation question (docs/method.md §6.2).</summary>
/// <param name="Image">A test image.</param>
/// <param name="Question">One of the super-category's 10 eval questions.</param>
/// <param name="Options">4 distinct names: the ground truth first, then 3 hard distractors (one-attribute neighbours
/// first, then the nearest others of the super-category, seen or unseen).</param>
/// <param name="GroundTruth">The species name.</param>
public sealed record EvalRecord(SynthImage Image, string Question, IReadOnlyList<string> Options, string GroundTruth);

/// <summary>The evaluation records of one super-category and split, and the JSONL file holding them.</summary>
/// <param name="SuperCategory">The super-category ("dataset").</param>
/// <param name="Seen">True for seen classes, false for unseen.</param>
/// <param name="FilePath">Absolute path of the JSONL file (<c>eval/&lt;noun&gt;_seen.jsonl</c> / <c>_unseen.jsonl</c>).</param>
/// <param name="Records">The records, in file order.</param>
public sealed record EvalSplit(SuperCategory SuperCategory, bool Seen, string FilePath, IReadOnlyList<EvalRecord> Records);

/// <summary>Absolute paths of the files a world wrote (images aside).</summary>
/// <param name="WorldJson">Taxonomy, attributes, split and file list (<c>world.json</c>).</param>
/// <param name="CaptionsJsonl">Pretraining captions: <c>{"image", "text"}</c> per line.</param>
/// <param name="FactsJsonl">Pretraining facts: <c>{"species", "text"}</c> per line.</param>
/// <param name="CotSftJson">Stage-1 CoT SFT in LLaMA-Factory ShareGPT format.</param>
/// <param name="DirectSftJson">The same examples with answer-only targets (direct-SFT baseline).</param>
/// <param name="DatasetInfoJson">LLaMA-Factory <c>dataset_info.json</c> registering both SFT files.</param>
/// <param name="TapoJsonl">TAPO triplets: <c>{"image", "image_pos", "image_neg", "problem", "answer"}</c> per line.</param>
/// <param name="EvalJsonl">Eval files, one per super-category and split.</param>
public sealed record FgvrSynthFiles(string WorldJson, string CaptionsJsonl, string FactsJsonl, string CotSftJson,
    string DirectSftJson, string DatasetInfoJson, string TapoJsonl, IReadOnlyList<string> EvalJsonl);
