//! Regions and the URLs derived from them.

use std::{fmt, str::FromStr};

use url::Url;

/// A Clio data region. A token is valid only in the region that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// app.clio.com
    Us,
    /// eu.app.clio.com
    Eu,
    /// ca.app.clio.com
    Ca,
    /// au.app.clio.com
    Au,
}

/// A region name that is none of `us`, `eu`, `ca`, `au`.
#[derive(Debug, thiserror::Error)]
#[error("unknown Clio region {0:?}: expected one of us, eu, ca, au")]
pub struct UnknownRegion(pub String);

impl Region {
    /// Every region, in a stable order.
    pub const ALL: [Region; 4] = [Region::Us, Region::Eu, Region::Ca, Region::Au];

    /// The lowercase code stored with a connection.
    pub fn code(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Ca => "ca",
            Region::Au => "au",
        }
    }

    fn host(self) -> &'static str {
        match self {
            Region::Us => CLIO_US_HOST,
            Region::Eu => "eu.app.clio.com",
            Region::Ca => "ca.app.clio.com",
            Region::Au => "au.app.clio.com",
        }
    }
}

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRegion(s.to_owned()))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

const CLIO_US_HOST: &str = "app.clio.com";

/// Where Clio lives. Built from `CLIO_BASE_URL`: when that is Clio's own US host, each region gets
/// its own host; any other base (the simulator, a test server) serves every region.
#[derive(Debug, Clone)]
pub struct Endpoints {
    base: Url,
    regional: bool,
}

impl Endpoints {
    /// Endpoints rooted at `base` (for example `https://app.clio.com` or `http://127.0.0.1:7700`).
    pub fn new(mut base: Url) -> Self {
        base.set_path("/");
        base.set_query(None);
        let regional = base.host_str() == Some(CLIO_US_HOST);
        Self { base, regional }
    }

    /// The site root for `region`.
    pub fn site(&self, region: Region) -> Url {
        let mut url = self.base.clone();
        if self.regional {
            // Infallible: swapping one valid DNS name for another.
            let _ = url.set_host(Some(region.host()));
        }
        url
    }

    /// `{site}/api/v4/`, the root every REST path is joined to.
    pub fn api_base(&self, region: Region) -> Url {
        self.join(region, "api/v4/")
    }

    /// `{site}/oauth/authorize`.
    pub fn authorize_url(&self, region: Region) -> Url {
        self.join(region, "oauth/authorize")
    }

    /// `{site}/oauth/token`.
    pub fn token_url(&self, region: Region) -> Url {
        self.join(region, "oauth/token")
    }

    /// `{site}/oauth/deauthorize`.
    pub fn deauthorize_url(&self, region: Region) -> Url {
        self.join(region, "oauth/deauthorize")
    }

    fn join(&self, region: Region, path: &str) -> Url {
        // Infallible: constant relative paths joined to a base whose path is `/`.
        self.site(region)
            .join(path)
            .unwrap_or_else(|_| self.base.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clio_base_gives_each_region_its_host() {
        let e = Endpoints::new(Url::parse("https://app.clio.com").expect("url"));
        assert_eq!(
            e.api_base(Region::Us).as_str(),
            "https://app.clio.com/api/v4/"
        );
        assert_eq!(
            e.api_base(Region::Eu).as_str(),
            "https://eu.app.clio.com/api/v4/"
        );
        assert_eq!(
            e.token_url(Region::Au).as_str(),
            "https://au.app.clio.com/oauth/token"
        );
        assert_eq!(
            e.authorize_url(Region::Ca).as_str(),
            "https://ca.app.clio.com/oauth/authorize"
        );
    }

    #[test]
    fn any_other_base_serves_every_region() {
        let e = Endpoints::new(Url::parse("http://127.0.0.1:7700/ignored?x=1").expect("url"));
        for r in Region::ALL {
            assert_eq!(e.api_base(r).as_str(), "http://127.0.0.1:7700/api/v4/");
        }
    }

    #[test]
    fn regions_parse_case_insensitively_and_refuse_others() {
        assert_eq!("EU".parse::<Region>().expect("eu"), Region::Eu);
        assert!("uk".parse::<Region>().is_err());
    }
}
