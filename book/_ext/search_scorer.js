// Search ranking of this book (loaded by Sphinx through html_search_scorer; see
// search_ranking.py). A concept word should first list the lessons that teach it, then the
// glossary, and only then the library's API entries, whose exact-name matches Sphinx's default
// ranks above every page. Scores are Sphinx 7's defaults plus a boost by page.
var Scorer = {
  lessonBoost: 40,
  glossaryBoost: 30,
  score: (result) => {
    const [docname, title, anchor, descr, score, filename] = result;
    if (docname.startsWith("lessons/")) return score + Scorer.lessonBoost;
    if (docname === "book/glossary") return score + Scorer.glossaryBoost;
    return score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
