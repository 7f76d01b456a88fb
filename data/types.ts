/** One explicit rating. */
export interface Rating {
  user: string;
  item: string;
  /** Stars: 1–5 in ml-100k and ml-1m, 0.5–5 in halves in ml-latest and ml-25m. */
  rating: number;
  /** Seconds since the Unix epoch. */
  time: number;
}

/** The ratings a file may hold: a range, in steps (whole or half stars). */
export interface RatingScale {
  /** For people: "1–5 whole stars". */
  name: string;
  min: number;
  max: number;
  /** Every rating is a multiple of it. */
  step: number;
}

/** A title (a movie) and what the dataset says about it. */
export interface Title {
  id: string;
  /** As the file has it, year included: "Toy Story (1995)". */
  title: string;
  /** From the title's trailing "(1995)"; absent when it has none. */
  year?: number;
  /**
   * Genre names as the dataset spells them ("Children's", "Sci-Fi"); empty when it lists
   * none (ml-latest's "(no genres listed)", ml-100k's "unknown" flag).
   */
  genres: string[];
  /** IMDb's number, digits as in ml-latest `links.csv` ("0114709"). */
  imdbId?: string;
  /** The Movie Database's number, from ml-latest `links.csv`. */
  tmdbId?: string;
}

/** A user and what the dataset says about them (ml-100k and ml-1m only). */
export interface UserInfo {
  id: string;
  /** Years in ml-100k; in ml-1m the first year of the age group (1 is "under 18", 56 "56+"). */
  age?: number;
  /** "M" or "F". */
  gender?: string;
  /** ml-100k's word ("technician"); ml-1m's code as its README names it ("academic/educator"). */
  occupation?: string;
  /** A US zip code mostly, as written ("85711", "T8H1N", "98101-4322"). */
  zip?: string;
}

/** A free-text tag a user put on a title (ml-latest `tags.csv`, ml-10m `tags.dat`). */
export interface Tag {
  user: string;
  item: string;
  tag: string;
  /** Seconds since the Unix epoch. */
  time: number;
}

/** A title's identifiers elsewhere (ml-latest `links.csv`). */
export interface Link {
  item: string;
  imdbId: string;
  /** Absent for the few titles The Movie Database does not have. */
  tmdbId?: string;
}

/** A title's entity in a knowledge graph (MKR `item_index2entity_id.txt`). */
export interface ItemEntity {
  /** The MovieLens movie id. */
  item: string;
  entity: string;
}

/** One fact of a knowledge graph (MKR `kg.txt`): `head` is in `relation` to `tail`. */
export interface KgTriple {
  head: string;
  /** As the graph names it: `film.film.director`. */
  relation: string;
  tail: string;
}
